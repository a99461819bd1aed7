from django import forms

from addons.models import Catalog
from prefetch.profiles import PROFILE_LIMITS
from prefetch.web.forms import AmountField

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


class ScheduleForm(forms.ModelForm):
    time = forms.TimeField(
        input_formats=["%H:%M"], widget=forms.TimeInput(format="%H:%M", attrs={"type": "time", "required": True}),
        help_text="Server time zone.",
    )
    days = forms.TypedMultipleChoiceField(
        choices=DAY_CHOICES, coerce=int, widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Pick at least one day."},
    )
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
        fields = ["time", "days", "enabled", *PROFILE_LIMITS, "catalog_ids", "cache_validity_s",
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

    def clean_days(self):
        return sorted(set(self.cleaned_data["days"]))

    def clean_catalog_ids(self):
        return [catalog.pk for catalog in self.cleaned_data["catalog_ids"]]

    def amount_fields(self):
        """The profile's limits and cache validity, laid out alike on the page."""
        return [self[name] for name in (*PROFILE_LIMITS, "cache_validity_s", "cache_validity_auto")]

    def profile(self) -> dict:
        """The profile fields as the services take them."""
        return {name: self.cleaned_data[name] for name in self.Meta.fields if name not in ("time", "days", "enabled")}
