from django import forms

from addons.models import Catalog
from prefetch.fields import AmountField
from prefetch.profiles import PROFILE_LIMITS

from .models import DAY_NAMES, Schedule

DAY_CHOICES = [(index, name) for index, name in enumerate(DAY_NAMES)]
LIMIT_LABELS = {
    "movies_global_limit": "Movies, all catalogs together",
    "series_global_limit": "Series, all catalogs together",
    "movies_per_catalog": "Movies per movie catalog",
    "series_per_catalog": "Series per series catalog",
    "items_per_mixed_catalog": "Items per mixed catalog",
}


class OptionalAmountField(AmountField):
    """An amount the profile may leave empty: then the saved setting applies."""

    def compress(self, data_list):
        value, _, unlimited = (list(data_list) + [None, None, None])[:3]
        if value is None and not unlimited:
            return None
        return super().compress(data_list)


class CatalogChoices(forms.ModelMultipleChoiceField):
    def label_from_instance(self, catalog):
        return f"{catalog.name or catalog.catalog_id} ({catalog.content_type}, {catalog.addon.label})"


DAILY, INTERVAL = "daily", "interval"


class ScheduleForm(forms.ModelForm):
    kind = forms.ChoiceField(choices=[(DAILY, "At a time, on some days"), (INTERVAL, "Every …")],
                             widget=forms.RadioSelect, initial=DAILY, required=False, label="Runs")
    time = forms.TimeField(
        input_formats=["%H:%M"], widget=forms.TimeInput(format="%H:%M", attrs={"type": "time"}),
        required=False, help_text="Server time zone.",
    )
    days = forms.TypedMultipleChoiceField(
        choices=DAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple, required=False,
    )
    every_s = OptionalAmountField(units=["m", "h", "d"], integer=True, required=False, label="Every",
                                  help_text="At least 15 min; counted from the last run.")
    catalog_ids = CatalogChoices(
        queryset=Catalog.objects.none(), required=False, widget=forms.CheckboxSelectMultiple,
        label="Catalogs", help_text="None ticked: every selected catalog.",
    )
    cache_validity_s = OptionalAmountField(
        units=["s", "m", "h", "d", "w"], unlimited_label="Never expires", integer=True, required=False,
        label="Skip items prefetched within", help_text="Empty: as in Settings. 0 = always request again.",
    )
    cache_validity_auto = forms.NullBooleanField(required=False, label="Follow the addon's Cache-Control")

    class Meta:
        model = Schedule
        fields = ["time", "days", "every_s", "enabled", *PROFILE_LIMITS, "catalog_ids", "cache_validity_s",
                  "cache_validity_auto", "new_episodes_only"]
        labels = {**LIMIT_LABELS, "new_episodes_only": "New episodes only"}
        help_texts = {name: "Empty: as in Settings. -1 = unlimited." for name in PROFILE_LIMITS}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        selected = Catalog.objects.filter(enabled=True, missing=False).select_related("addon").order_by("position", "pk")
        self.fields["catalog_ids"].queryset = selected
        self.fields["cache_validity_auto"].widget.choices = [("unknown", "As in Settings"), ("true", "Yes (auto)"),
                                                             ("false", "No")]
        if self.instance.pk:
            self.initial["catalog_ids"] = list(self.instance.catalog_ids)
            self.initial["kind"] = INTERVAL if self.instance.is_interval else DAILY

    def clean_days(self):
        return sorted(set(self.cleaned_data["days"]))

    def clean(self):
        """Only the chosen kind's fields count (daily unless told); the model says what is missing
        (Schedule.clean)."""
        data = super().clean()
        if data.get("kind") == INTERVAL:
            data.update(time=None, days=[])
            if data.get("every_s") is None and "every_s" not in self.errors:
                self.add_error("every_s", "Enter a number.")
        else:
            data["every_s"] = None
        return data

    def _post_clean(self):
        # An interval without a usable number: its field says so; the model would add that a time is missing.
        if self.cleaned_data.get("kind") == INTERVAL and "every_s" in self.errors:
            return
        super()._post_clean()

    def rhythm(self) -> dict:
        """When it runs, as the services take it: a time with days, or an interval."""
        return {name: self.cleaned_data[name] for name in ("time", "days", "every_s")}

    def clean_catalog_ids(self):
        return [catalog.pk for catalog in self.cleaned_data["catalog_ids"]]

    def amount_fields(self):
        """The profile's limits and cache validity, laid out alike on the page."""
        return [self[name] for name in (*PROFILE_LIMITS, "cache_validity_s", "cache_validity_auto")]

    def profile(self) -> dict:
        """The profile fields as the services take them."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields
                if name not in ("time", "days", "every_s", "enabled")}
