"""The Settings page form: every PrefetchSettings field, grouped; time values as number + unit."""

import math

from django import forms
from django.core.validators import MinValueValidator

from addons.redaction import redact_url
from prefetch.fields import AmountField
from prefetch.models import SECRET_URL_SETTINGS, PrefetchSettings
from prefetch.templatetags.display import format_duration


def limit(**kw):
    return AmountField(unlimited_label="Unlimited", integer=True, **kw)


# (title, description, fields): how the Settings page arranges the model's fields (the form has every
# one of them; tests/engine/test_one_source.py checks each is placed in exactly one group).
GROUPS = [
    ("Limits", "How much one run prefetches. Unlimited = no cap.", [
        "movies_global_limit", "series_global_limit", "movies_per_catalog", "series_per_catalog",
        "items_per_mixed_catalog",
    ]),
    ("Time", "Pacing and time budgets.", [
        "delay_s", "request_timeout_s", "cache_validity_s", "cache_validity_auto", "max_execution_time_s",
    ]),
    ("Series episodes", "Which episodes of a series are requested.", [
        "episodes_per_series", "include_specials", "include_unreleased", "release_delay_s",
        "follow_next_episodes",
    ]),
    ("Stream source cache requests", "Ask the debrid service to cache sources that are not cached yet.", [
        "cache_requests_enabled", "cached_stream_regex", "skip_stream_regex", "cache_requests_per_item",
        "cache_requests_global", "cached_streams_threshold", "cache_request_hosts",
    ]),
    ("Advanced", "Concurrency, retries, network and housekeeping.", [
        "concurrency_mode", "concurrency", "retries", "verify_sample_size", "max_pages_per_catalog", "proxy_url", "fallback_meta_url",
        "randomize_catalogs", "randomize_items", "logging_enabled", "run_retention_days",
    ]),
]


# Every field speaks in the same voice as the custom messages (no Django default wording).
ERROR_MESSAGES = {
    "required": "Enter a value.",
    "invalid": "Enter a number.",
    "min_value": "Use %(limit_value)s or more.",
    "max_value": "Use %(limit_value)s or less.",
    "max_length": "Use at most %(limit_value)d characters.",
}
# Checked only while the feature is on: when it is off, an invalid value there keeps the stored one.
CACHE_REQUEST_FIELDS = ("cached_stream_regex", "skip_stream_regex", "cache_requests_per_item", "cache_requests_global",
                        "cached_streams_threshold", "cache_request_hosts")


def delay_allows(delay_s: float) -> str:
    """What the saved delay between request starts (per addon) allows, in words."""
    if delay_s <= 0:
        return "Saved: no delay, as many requests as the parallel requests allow."
    per_minute = math.floor(60 / delay_s)
    if per_minute >= 1:
        return f"Saved: at most {per_minute} request{'s' if per_minute != 1 else ''} a minute per addon."
    return f"Saved: at most one request every {format_duration(delay_s)} per addon."


class SettingsForm(forms.ModelForm):
    movies_global_limit = limit(label="Movies, all catalogs together")
    series_global_limit = limit(label="Series, all catalogs together")
    movies_per_catalog = limit(label="Movies per movie catalog")
    series_per_catalog = limit(label="Series per series catalog")
    items_per_mixed_catalog = limit(label="Items per mixed catalog")
    episodes_per_series = limit(label="Episodes per series", help_text="Newest first.")
    delay_s = AmountField(
        units=["ms", "s", "m", "h"], label="Delay between requests", help_text="0 = no delay."
    )
    request_timeout_s = AmountField(units=["s", "m"], label="Request timeout")
    cache_validity_s = AmountField(
        units=["s", "m", "h", "d", "w"], unlimited_label="Never expires", integer=True,
        label="Skip items prefetched within", help_text="0 = always request again.",
    )
    max_execution_time_s = AmountField(
        units=["s", "m", "h", "d"], unlimited_label="Unlimited", integer=True, label="Max execution time",
    )
    release_delay_s = AmountField(
        units=["m", "h", "d"], integer=True, label="Warm new episodes after release by",
        help_text="Announced episodes are requested once they have been out this long. 0 = at release.",
    )

    class Meta:
        model = PrefetchSettings
        fields = "__all__"
        help_texts = {"concurrency": "Requests in flight at once per addon: 1 = one at a time. "
                                     "In adaptive mode, the most the limit may reach."}
        widgets = {
            "proxy_url": forms.TextInput(attrs={"placeholder": "http://user:pass@proxy:8080", "autocomplete": "off"}),
            "fallback_meta_url": forms.TextInput(),
            "cache_request_hosts": forms.TextInput(attrs={"placeholder": "real-debrid.com, torbox.app"}),
            "cached_stream_regex": forms.TextInput(attrs={"class": "mono"}),
            "skip_stream_regex": forms.TextInput(attrs={"class": "mono"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in SECRET_URL_SETTINGS:  # the page shows them masked; unchanged, they keep the real value
            self.initial[name] = masked(getattr(self.instance, name))
        for name, field in self.fields.items():
            if not isinstance(field, AmountField):
                field.error_messages.update(
                    {key: text for key, text in ERROR_MESSAGES.items() if key != "invalid" or isinstance(field, forms.FloatField)}
                )
                if isinstance(field, forms.IntegerField):
                    field.error_messages["invalid"] = "Enter a whole number."
            self._refuse_below_model_minimum(field, name)
        self.fields["delay_s"].help_text = f"0 = no delay. {delay_allows(self.instance.delay_s)}"
        self.kept_while_off: list[str] = []
        self._stored = {name: getattr(self.instance, name) for name in CACHE_REQUEST_FIELDS}

    @staticmethod
    def _refuse_below_model_minimum(field, name: str) -> None:
        """A positive integer whose model allows only 1 or more (parallel requests, pages) says "Use 1
        or more." at once, rather than "Use 0 or more." and then refusing the 0."""
        if getattr(field, "min_value", None) is None:
            return
        minimum = max((validator.limit_value for validator in PrefetchSettings._meta.get_field(name).validators
                       if isinstance(validator, MinValueValidator)), default=field.min_value)
        if minimum > field.min_value:
            field.min_value = minimum
            field.validators = [v for v in field.validators if not isinstance(v, MinValueValidator)]
            field.validators.append(MinValueValidator(minimum))

    def _post_clean(self):
        """After the model's own validation: with cache requests off, an invalid value in that group
        keeps the stored one instead of blocking the save."""
        super()._post_clean()
        if self.cleaned_data.get("cache_requests_enabled"):
            return
        for name in CACHE_REQUEST_FIELDS:
            if name in self._errors:
                del self._errors[name]
                self.cleaned_data[name] = self._stored[name]
                setattr(self.instance, name, self._stored[name])
                self.kept_while_off.append(self.fields[name].label.lower())

    def error_summary(self) -> list[tuple[str, str, str]]:
        """(field name, label, first message) of each invalid field, in page order."""
        return [(name, self.fields[name].label if name in self.fields else "", errors[0])
                for name, errors in self.errors.items() if name != "__all__"]

    def groups(self):
        return [(title, text, [self[name] for name in names]) for title, text, names in GROUPS]

    def clean_proxy_url(self):
        return unmasked(self.cleaned_data["proxy_url"], self.instance.proxy_url)

    def clean_fallback_meta_url(self):
        return unmasked(self.cleaned_data["fallback_meta_url"], self.instance.fallback_meta_url)


# Shared with the JSON API's serializer: both show secret URLs masked. Everything else about a
# value (normalising, checking) is the model's `PrefetchSettings.clean`.
def masked(url: str) -> str:
    return redact_url(url) if url else ""


def unmasked(value: str, current: str) -> str:
    """A masked URL sent back as shown keeps the stored one; anything else is taken as new."""
    if current and value.strip() == masked(current):
        return current
    return value
