from django.core.exceptions import ValidationError
from django.db import models

DUPLICATE_SCHEDULE = "A schedule at this time on the same days already exists."

DAY_NAMES = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]  # cron numbering: 0 = Sunday


def validate_days(value) -> None:
    if not isinstance(value, list) or not value:
        raise ValidationError("Pick at least one day.")
    if any(not isinstance(day, int) or isinstance(day, bool) or not 0 <= day <= 6 for day in value):
        raise ValidationError("Days are numbers from 0 (Sunday) to 6 (Saturday).")
    if len(set(value)) != len(value):
        raise ValidationError("A day is listed twice.")


class SchedulingSettings(models.Model):
    """One row: the global on/off switch for all schedules."""

    enabled = models.BooleanField(default=True)

    class Meta:
        verbose_name = verbose_name_plural = "scheduling settings"

    @classmethod
    def load(cls) -> "SchedulingSettings":
        row, _ = cls.objects.get_or_create(pk=1)
        return row


class Schedule(models.Model):
    """Source of truth for one recurring run; `services.sync_schedule` mirrors it into beat."""

    enabled = models.BooleanField(default=True)
    time = models.TimeField(help_text="Server time zone (TZ).")
    days = models.JSONField(default=list, validators=[validate_days], help_text="0 = Sunday … 6 = Saturday.")
    periodic_task = models.OneToOneField(
        "django_celery_beat.PeriodicTask", null=True, blank=True, on_delete=models.SET_NULL, editable=False,
        # No reverse accessor: "PeriodicTask.schedule" is django-celery-beat's own property, which beat reads.
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["time", "id"]
        constraints = [
            models.UniqueConstraint(fields=["time", "days"], name="unique_schedule_time_days",
                                    violation_error_message=DUPLICATE_SCHEDULE),
        ]

    def __str__(self):
        return f"{self.time:%H:%M} on {self.days_label}"

    def clean(self):
        # One spelling per set of days, so that the unique constraint sees [3, 1] and [1, 3] as equal.
        if isinstance(self.days, list) and all(isinstance(day, int) for day in self.days):
            self.days = sorted(self.days)

    def validate_constraints(self, exclude=None):
        try:
            super().validate_constraints(exclude)
        except ValidationError as error:
            # Reported on the time field: the one a user changes to tell two schedules apart.
            raise ValidationError({"time": error.messages}) from None

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
