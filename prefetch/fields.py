"""Form fields the Settings page and the schedules' profiles share: an amount as number + unit
(the engine's time units) + "unlimited"."""

import math

from django import forms
from django.core.exceptions import ValidationError

from prefetch.engine.durations import UNIT_LABELS, UNITS
from prefetch.models import UNLIMITED


class AmountWidget(forms.MultiWidget):
    """number [+ unit select] [+ 'Unlimited' checkbox]; sub-inputs are NAME_value / NAME_unit / NAME_unlimited."""

    template_name = "settings/amount_widget.html"  # in prefetch/templates: found by the form renderer

    def __init__(self, units, unlimited_label, attrs=None):
        self.units = units
        self.unlimited_label = unlimited_label
        widgets = {
            "value": forms.NumberInput(attrs={"step": "any", "class": "amount-value"}),
            "unit": forms.Select(choices=[(u, UNIT_LABELS[u]) for u in units]) if units else forms.HiddenInput(),
            "unlimited": forms.CheckboxInput(attrs={"class": "amount-unlimited"}) if unlimited_label else forms.HiddenInput(),
        }
        super().__init__(widgets, attrs)

    def decompress(self, value):
        if value is None:
            return [None, self.units[0] if self.units else "", False]
        if self.unlimited_label and value == UNLIMITED:
            return [None, self.units[-2] if len(self.units) > 1 else (self.units[0] if self.units else ""), True]
        if not self.units:
            return [value, "", False]
        if value == 0:
            return [0, "s" if "s" in self.units else self.units[0], False]
        unit = self.units[0]
        for candidate in self.units:  # the largest unit that gives a whole number
            amount = value / UNITS[candidate]
            if abs(amount - round(amount)) < 1e-9 and abs(amount) >= 1:
                unit = candidate
        amount = value / UNITS[unit]
        amount = int(round(amount)) if abs(amount - round(amount)) < 1e-9 else round(amount, 3)
        return [amount, unit, False]

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["unlimited_label"] = self.unlimited_label
        return context


class AmountField(forms.MultiValueField):
    def __init__(self, *, units=(), unlimited_label=None, integer=False, **kwargs):
        self.units = list(units)
        self.unlimited_label = unlimited_label
        self.integer = integer
        fields = (
            forms.FloatField(required=False),
            forms.ChoiceField(choices=[(u, u) for u in self.units], required=False) if self.units else forms.CharField(required=False),
            forms.BooleanField(required=False),
        )
        kwargs.pop("max_value", None)
        kwargs.pop("min_value", None)
        kwargs.pop("step_size", None)
        super().__init__(fields, require_all_fields=False, widget=AmountWidget(self.units, unlimited_label), **kwargs)

    def compress(self, data_list):
        value, unit, unlimited = (list(data_list) + [None, None, None])[:3]
        if unlimited and self.unlimited_label:
            return UNLIMITED
        if value is None:
            hint = f" or tick “{self.unlimited_label}”" if self.unlimited_label else ""
            raise ValidationError(f"Enter a number{hint}.")
        if not math.isfinite(value):
            raise ValidationError("Enter a finite number.")
        seconds = value * UNITS.get(unit, 1) if self.units else value
        if self.integer:
            if abs(seconds - round(seconds)) > 1e-6:
                raise ValidationError("Use a whole number" + (" of seconds." if self.units else "."))
            return int(round(seconds))
        return round(seconds, 6)
