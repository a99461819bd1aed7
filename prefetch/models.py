import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

CINEMETA_MANIFEST_URL = "https://v3-cinemeta.strem.io/manifest.json"
UNLIMITED = -1
# Settings holding URLs that may carry credentials or an addon configuration: shown masked.
SECRET_URL_SETTINGS = ("proxy_url", "fallback_meta_url")


def validate_regex(value: str) -> None:
    try:
        re.compile(value)
    except re.error as error:
        raise ValidationError(f"Not a valid regular expression: {error}.") from None


def validate_limit(value: int) -> None:
    if value < UNLIMITED:
        raise ValidationError("Use -1 for unlimited, or 0 or more.")


def validate_optional_duration(value: float) -> None:
    if value < 0 and value != UNLIMITED:
        raise ValidationError("Use -1 for unlimited, or 0 or more seconds.")


class PrefetchSettings(models.Model):
    """The one row of engine parameters (the original tool's config, with its defaults)."""

    movies_global_limit = models.IntegerField(default=-1, validators=[validate_limit])
    series_global_limit = models.IntegerField(default=-1, validators=[validate_limit])
    movies_per_catalog = models.IntegerField(default=50, validators=[validate_limit])
    series_per_catalog = models.IntegerField(default=3, validators=[validate_limit])
    items_per_mixed_catalog = models.IntegerField(default=20, validators=[validate_limit])

    delay_s = models.FloatField("delay between requests (s)", default=2.0, validators=[MinValueValidator(0)])
    cache_validity_s = models.IntegerField(
        "cache validity (s)", default=7 * 86400, validators=[validate_optional_duration],
        help_text="-1 = never expires, 0 = always request again.",
    )
    max_execution_time_s = models.IntegerField(
        "max execution time (s)", default=90 * 60, validators=[validate_optional_duration],
        help_text="-1 = unlimited.",
    )
    request_timeout_s = models.FloatField("request timeout (s)", default=30.0, validators=[MinValueValidator(0.1)])
    proxy_url = models.CharField("HTTP proxy", max_length=500, blank=True)
    randomize_catalogs = models.BooleanField(default=False)
    randomize_items = models.BooleanField(default=False)
    logging_enabled = models.BooleanField("write a log file per run", default=False)

    concurrency = models.PositiveIntegerField(
        "parallel requests per addon", default=2, validators=[MinValueValidator(1)]
    )
    retries = models.PositiveIntegerField(default=2)
    max_pages_per_catalog = models.PositiveIntegerField(default=50, validators=[MinValueValidator(1)])
    include_specials = models.BooleanField("include specials (season 0)", default=False)
    include_unreleased = models.BooleanField("include unreleased episodes", default=False)
    episodes_per_series = models.IntegerField(
        "episodes per series", default=-1, validators=[validate_limit], help_text="Newest first; -1 = all."
    )
    fallback_meta_url = models.CharField(
        "fallback meta addon", max_length=2000, blank=True, default=CINEMETA_MANIFEST_URL,
        help_text="Lists a series' episodes when no configured addon serves its meta.",
    )

    cache_requests_enabled = models.BooleanField("stream source cache requests", default=False)
    cached_stream_regex = models.CharField(max_length=500, default="⚡", validators=[validate_regex])
    skip_stream_regex = models.CharField(max_length=500, blank=True, validators=[validate_regex])
    cache_requests_per_item = models.PositiveIntegerField(default=1)
    cache_requests_global = models.PositiveIntegerField(default=50)
    cached_streams_threshold = models.PositiveIntegerField(
        default=0, help_text="Request uncached streams when at most this many cached ones were found."
    )
    cache_request_hosts = models.CharField(
        "extra hosts for cache requests", max_length=1000, blank=True,
        help_text="Comma-separated. The stream addon's own host is always allowed.",
    )
    run_retention_days = models.PositiveIntegerField("keep runs and logs for (days)", default=90)

    class Meta:
        verbose_name = verbose_name_plural = "prefetch settings"

    def __str__(self):
        return "Prefetch settings"

    @classmethod
    def load(cls) -> "PrefetchSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


class PrefetchRecord(models.Model):
    """Cache memory: when a stream addon last answered for one video."""

    addon_key = models.CharField(max_length=40, help_text="Hash of the stream addon's URL.")
    addon_name = models.CharField(max_length=200, blank=True)
    # Text: addons choose types and ids of any length (see addons.manifest.MAX_ID_CHARS).
    content_type = models.TextField("type")
    video_id = models.TextField()
    title = models.CharField(max_length=400, blank=True)
    last_attempt = models.DateTimeField()
    last_success = models.DateTimeField(null=True, blank=True)
    last_status = models.IntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    stream_count = models.IntegerField(null=True, blank=True)
    latency_ms = models.FloatField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["addon_key", "content_type", "video_id"], name="unique_record_per_video")
        ]
        indexes = [
            models.Index(fields=["video_id"], name="record_video_idx"),
            models.Index(fields=["-last_attempt"], name="record_last_attempt_idx"),
        ]

    def __str__(self):
        return f"{self.title or self.video_id} @ {self.addon_name}"


class RunStatus(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    PAUSING = "pausing"
    PAUSED = "paused"
    COMPLETED = "completed"
    # ended normally, but stream requests or items failed (see the run's failed records)
    COMPLETED_WITH_FAILURES = "completed_with_failures", "Completed with failures"
    FAILED = "failed"
    CANCELLED = "cancelled"
    ABORTED = "aborted"
    SKIPPED = "skipped"


ACTIVE_STATUSES = [RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.PAUSING, RunStatus.PAUSED]
# Active and owned by a worker (claimed): the statuses a heartbeat is kept for.
EXECUTING_STATUSES = [RunStatus.RUNNING, RunStatus.PAUSING, RunStatus.PAUSED]


class RunTrigger(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    CLI = "cli"
    API = "api"


class Run(models.Model):
    status = models.CharField(max_length=24, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=10, choices=RunTrigger.choices, default=RunTrigger.MANUAL)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    statistics = models.JSONField(default=dict, blank=True)
    catalogs = models.JSONField(default=list, blank=True, help_text="Per-catalog results.")
    addons = models.JSONField(default=list, blank=True, help_text="Per-addon results.")
    progress = models.JSONField(default=dict, blank=True, help_text="Latest live snapshot.")
    options = models.JSONField(default=dict, blank=True, help_text="Overrides for this run only.")
    stop_reason = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    cancel_requested = models.BooleanField(default=False)
    pause_requested = models.BooleanField(default=False)
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker = models.CharField(max_length=255, blank=True, help_text="The worker executing the run.")
    # New at every claim: only the current claim's holder may write progress or the final state.
    claim_token = models.CharField(max_length=32, blank=True, editable=False)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="Refreshed by the worker while it runs.")
    handover_requested = models.BooleanField(default=False, help_text="Its worker is shutting down.")
    resumes = models.JSONField(
        default=list, blank=True, help_text="Each time the run was resumed after losing its worker."
    )
    log_file = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not the code, guarantees a single active run.
            models.UniqueConstraint(
                models.Value(1), condition=models.Q(status__in=ACTIVE_STATUSES), name="one_active_run"
            )
        ]
        indexes = [models.Index(fields=["status"], name="run_status_idx")]

    def __str__(self):
        return f"Run #{self.pk} ({self.status})"

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def duration_s(self) -> float | None:
        """Active time: pauses left out (`paused_s`). Runs recorded before it was kept: start to end."""
        if "active_s" in (self.statistics or {}):
            return self.statistics["active_s"]
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def paused_s(self) -> float:
        return (self.statistics or {}).get("paused_s", 0.0)
