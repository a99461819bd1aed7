from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from addons.models import Catalog
from prefetch.models import AT_MOST_MAX_COUNT, MAX_CACHE_VALIDITY_S, at_most, validate_limit, validate_optional_duration
from prefetch.profiles import PROFILE_LIMITS, describe_profile

DUPLICATE_SCHEDULE = "A schedule at this time on the same days already exists."

DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]  # cron numbering: 0 = Sunday
# An interval schedule's bounds: shorter than 15 min stacks runs on runs (one warms for minutes to
# hours); a month is past any useful warming rhythm.
MIN_INTERVAL_S = 900
MAX_INTERVAL_S = 31 * 86400
TOO_OFTEN = "Use 900 s (15 min) or more."
TOO_RARE = "Use 31 days or less."
ONE_KIND = "Give a time with days, or an interval (every_s), not both."
NO_RHYTHM = "Give a time (HH:MM) with days, or an interval (every_s)."
NO_DAYS = "Pick at least one day."


def validate_days(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError(NO_DAYS)
    if any(not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6 for day in value):
        raise ValidationError("Days are numbers from 0 (Sunday) to 6 (Saturday).")
    if len(set(value)) != len(value):
        raise ValidationError("A day is listed twice.")


# A schedule's profile: what its runs override of the saved settings (None / empty = as saved).
PROFILE_FIELDS = (*PROFILE_LIMITS, "catalog_ids", "cache_validity_s", "cache_validity_auto", "new_episodes_only")


def validate_catalog_ids(value) -> None:
    if not isinstance(value, list) or any(not isinstance(pk, int) or isinstance(pk, bool) for pk in value):
        raise ValidationError("A list of catalog ids.")
    if len(set(value)) != len(value):
        raise ValidationError("A catalog is listed twice.")
    selected = set(Catalog.objects.filter(pk__in=value, enabled=True, missing=False).values_list("pk", flat=True))
    unknown = [pk for pk in value if pk not in selected]
    if unknown:
        raise ValidationError(
            f"Not among the selected catalogs: {', '.join(map(str, unknown))}. Pick them on the Catalogs page first."
        )


class SchedulingSettings(models.Model):
    """One row: the global on/off switch for all schedules."""

    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = verbose_name_plural = "scheduling settings"

    @classmethod
    def load(cls) -> "SchedulingSettings":
        row, _ = cls.objects.get_or_create(pk=1)
        return row


def format_interval(seconds: int) -> str:
    """"every 6 h", "every 90 min", "every 2 d", "every 1 h 30 min": how pages say an interval."""
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = round(rest / 60)
    parts = [f"{value} {unit}" for value, unit in ((days, "d"), (hours, "h"), (minutes, "min")) if value]
    return "every " + " ".join(parts or [f"{seconds} s"])


class Schedule(models.Model):
    """Source of truth for one recurring run; `services.sync_schedule` mirrors it into beat.

    Either a daily time on some days (`time` and `days`), or an interval (`every_s`): never both."""

    enabled = models.BooleanField(default=True)
    time = models.TimeField(null=True, blank=True, help_text="Server time zone (TZ); empty for an interval.")
    days = models.JSONField(default=list, blank=True, help_text="0 = Sunday … 6 = Saturday; empty for an interval.")
    every_s = models.PositiveIntegerField(
        null=True, blank=True, validators=[MinValueValidator(MIN_INTERVAL_S, TOO_OFTEN),
                                           MaxValueValidator(MAX_INTERVAL_S, TOO_RARE)],
        help_text="Seconds between two runs; instead of a time and days.",
    )
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, editable=False,
        # No reverse accessor: "PeriodicTask.schedule" is django-celery-beat's own property, which beat reads.
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    # The profile (see PROFILE_FIELDS): a nightly full run and an hourly light one differ here.
    movies_global_limit = models.IntegerField(null=True, blank=True, validators=[validate_limit, AT_MOST_MAX_COUNT])
    series_global_limit = models.IntegerField(null=True, blank=True, validators=[validate_limit, AT_MOST_MAX_COUNT])
    movies_per_catalog = models.IntegerField(null=True, blank=True, validators=[validate_limit, AT_MOST_MAX_COUNT])
    series_per_catalog = models.IntegerField(null=True, blank=True, validators=[validate_limit, AT_MOST_MAX_COUNT])
    items_per_mixed_catalog = models.IntegerField(null=True, blank=True, validators=[validate_limit, AT_MOST_MAX_COUNT])
    catalog_ids = models.JSONField(
        default=list, blank=True, validators=[validate_catalog_ids],
        help_text="A subset of the selected catalogs (ids); empty = all of them.",
    )
    cache_validity_s = models.IntegerField(
        null=True, blank=True,
        validators=[validate_optional_duration, at_most(MAX_CACHE_VALIDITY_S, " (a year, in seconds)")],
    )
    cache_validity_auto = models.BooleanField(null=True, blank=True, help_text="Empty = as in Settings.")
    new_episodes_only = models.BooleanField(
        default=False, help_text="Only episodes released since this schedule's last successful run."
    )

    class Meta:
        ordering = [models.F("time").asc(nulls_last=True), "every_s", "id"]
        constraints = [
            models.UniqueConstraint(fields=["time", "days"], name="unique_schedule_time_days",
                                    violation_error_message=DUPLICATE_SCHEDULE),
        ]

    def __str__(self):
        if self.is_interval:
            return format_interval(self.every_s)
        return f"{self.time:%H:%M} on {self.days_label}"

    @property
    def is_interval(self) -> bool:
        return self.every_s is not None

    def clean(self):
        if self.is_interval:
            if self.time is not None or self.days:
                raise ValidationError({"every_s": [ONE_KIND]})
            return
        errors = {}
        if self.time is None:
            errors["time"] = [NO_RHYTHM]
        try:
            validate_days(self.days)
        except ValidationError as error:
            errors["days"] = error.messages
        if errors:
            raise ValidationError(errors)
        # One spelling per set of days, so that the unique constraint sees [3, 1] and [1, 3] as equal.
        self.days = sorted(self.days)

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude)
        except ValidationError as error:
            # Reported on the time field: the one a user changes to tell two schedules apart.
            raise ValidationError({"time": error.messages}) from None

    @property
    def profile(self) -> dict:
        """What this schedule's runs override, as plain data (the beat task's kwargs carry it)."""
        values = {name: getattr(self, name) for name in PROFILE_FIELDS}
        unset = {name for name, value in values.items() if value is None or value == []}
        if not self.new_episodes_only:
            unset.add("new_episodes_only")
        return {name: value for name, value in values.items() if name not in unset}

    @property
    def profile_label(self) -> str:
        """The profile in words, for the Schedules page and the API (as the run page says it)."""
        return describe_profile(self.profile)

    @property
    def when_label(self) -> str:
        """"every 6 h", or "03:00 every day" / "03:00 Mon, Wed": the schedule's rhythm in words."""
        return str(self) if self.is_interval else f"{self.time:%H:%M} {self.days_label}"

    @property
    def days_label(self) -> str:
        if sorted(self.days) == list(range(7)):
            return "every day"
        return ", ".join(DAY_NAMES[day] for day in sorted(self.days))

    @property
    def days_label_list(self) -> list[str]:
        return [DAY_NAMES[day] for day in sorted(self.days)]


class SchedulerHeartbeat(models.Model):
    """One row, rewritten by beat as it ticks (schedules.scheduler): the proof that schedules can fire."""

    last_tick = models.DateTimeField()
    hostname = models.CharField(max_length=255)
    pid = models.PositiveIntegerField()

    def __str__(self):
        return f"{self.hostname} (pid {self.pid}) at {self.last_tick:%Y-%m-%d %H:%M:%S}"
