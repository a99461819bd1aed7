import math

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from addons.manifest import (
    CINEMETA_MANIFEST_URL,
    NUL_REFUSAL,
    AddonUrlError,
    has_nul,
    normalize_addon_url,
    split_url,
)
from addons.network_policy import INPUT_REFUSAL, AddressNotAllowed
from addons.services import client_limits
from prefetch.engine.pace import ADAPTIVE, FIXED
from prefetch.engine.plan import compile_stream_regex

CONCURRENCY_MODES = [(FIXED, "Fixed"), (ADAPTIVE, "Adaptive")]

UNLIMITED = -1
# Settings holding URLs that may carry credentials or an addon configuration: shown masked.
SECRET_URL_SETTINGS = ("proxy_url", "fallback_meta_url")


def validate_regex(value: str) -> None:
    try:
        compile_stream_regex(value)
    except ValueError as error:
        raise ValidationError(f"Not a valid regular expression: {error}.") from None


# Upper bounds of the number and duration settings: the one definition, as model validators, so the
# Settings page, the API, the admin, the import, schedule profiles and the CLI options (which run the
# model field's validators) refuse the same values. Without them 10^30 s of delay or timeout was taken
# and a run stalled after its first request, `running` until cancelled.
DAY_S = 86400
MAX_COUNT = 1_000_000  # items: far past any catalog walk, well inside every database integer
MAX_CACHE_VALIDITY_S = 365 * DAY_S


def at_most(limit: int | float, what: str = "") -> MaxValueValidator:
    return MaxValueValidator(limit, message=f"Use %(limit_value)s or less{what}.")


AT_MOST_A_DAY = at_most(DAY_S, " (a day, in seconds)")
AT_MOST_MAX_COUNT = at_most(MAX_COUNT)


def validate_finite(value: float) -> None:
    if not math.isfinite(value):  # NaN passes every bound: refused by name
        raise ValidationError("Enter a finite number.")


def validate_limit(value: int) -> None:
    if value < UNLIMITED:
        raise ValidationError("Use -1 for unlimited, or 0 or more.")


def validate_optional_duration(value: float) -> None:
    if value < 0 and value != UNLIMITED:
        raise ValidationError("Use -1 for unlimited, or 0 or more seconds.")


def clean_proxy_url(value: str) -> str:
    value = value.strip()
    if value:
        try:
            parts = split_url(value, "proxy URL")
        except AddonUrlError as error:
            raise ValidationError(str(error)) from None
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValidationError("Use an http:// or https:// proxy URL, e.g. http://proxy:8080.")
    return value


def clean_fallback_meta_url(value: str) -> str:
    """Normalised like an addon URL, and refused at an address the network policy forbids (may
    resolve the host name: validate before a transaction, not in one)."""
    value = value.strip()
    if not value:
        return value
    try:
        url = normalize_addon_url(value)
        client_limits().policy.check_url(url)
    except AddonUrlError as error:
        raise ValidationError(str(error)) from None
    except AddressNotAllowed:
        raise ValidationError(INPUT_REFUSAL) from None
    return url


def clean_cache_request_hosts(value: str) -> str:
    hosts = [h.strip().lower() for h in value.split(",") if h.strip()]
    bad = [h for h in hosts if "/" in h or " " in h or ":" in h]
    if bad:
        raise ValidationError(f"Host names only, without scheme or path: {', '.join(bad)}.")
    return ", ".join(hosts)


# Settings whose value is normalised as well as checked, by `PrefetchSettings.clean`.
NORMALISED_SETTINGS = {
    "proxy_url": clean_proxy_url,
    "fallback_meta_url": clean_fallback_meta_url,
    "cache_request_hosts": clean_cache_request_hosts,
}


class PrefetchSettings(models.Model):
    """The one row of engine parameters (the original tool's config, with its defaults).

    The one definition of the settings: `prefetch.engine.plan.EngineSettings` has a field with the
    same name and default for each, except those in `NOT_ENGINE_SETTINGS` (a test checks)."""

    # Housekeeping of the site and the release-day pass around runs, not parameters of a run.
    NOT_ENGINE_SETTINGS = ("run_retention_days", "release_delay_s", "follow_next_episodes")

    movies_global_limit = models.IntegerField(default=-1, validators=[validate_limit, AT_MOST_MAX_COUNT])
    series_global_limit = models.IntegerField(default=-1, validators=[validate_limit, AT_MOST_MAX_COUNT])
    movies_per_catalog = models.IntegerField(default=50, validators=[validate_limit, AT_MOST_MAX_COUNT])
    series_per_catalog = models.IntegerField(default=3, validators=[validate_limit, AT_MOST_MAX_COUNT])
    items_per_mixed_catalog = models.IntegerField(default=20, validators=[validate_limit, AT_MOST_MAX_COUNT])

    delay_s = models.FloatField("delay between requests (s)", default=2.0, validators=[validate_finite, MinValueValidator(0), AT_MOST_A_DAY])
    cache_validity_s = models.IntegerField(
        "cache validity (s)", default=7 * 86400,
        validators=[validate_optional_duration, at_most(MAX_CACHE_VALIDITY_S, " (a year, in seconds)")],
        help_text="-1 = never expires, 0 = always request again.",
    )
    cache_validity_auto = models.BooleanField(
        "follow the addon's Cache-Control", default=False,
        help_text="Request a stream again once its answer's max-age has passed; answers without one "
                  "use the cache validity above.",
    )
    max_execution_time_s = models.IntegerField(
        "max execution time (s)", default=90 * 60, validators=[validate_optional_duration, AT_MOST_A_DAY],
        help_text="-1 = unlimited.",
    )
    request_timeout_s = models.FloatField("request timeout (s)", default=30.0, validators=[validate_finite, MinValueValidator(0.1), AT_MOST_A_DAY])
    proxy_url = models.CharField("HTTP proxy", max_length=500, blank=True)
    randomize_catalogs = models.BooleanField(default=False)
    randomize_items = models.BooleanField(default=False)
    logging_enabled = models.BooleanField("write a log file per run", default=False)

    concurrency = models.PositiveIntegerField(
        "parallel requests per addon", default=2, validators=[MinValueValidator(1), at_most(64)],
        help_text="In adaptive mode, the most the limit may reach.",
    )
    concurrency_mode = models.CharField(
        "concurrency mode", max_length=10, choices=CONCURRENCY_MODES, default=FIXED,
        help_text="Adaptive: start at 1 request in flight per addon and raise it, up to the parallel requests "
        "above, while the addon answers as fast as it can and refuses nothing; back off on refusals, "
        "timeouts and queueing.",
    )
    retries = models.PositiveIntegerField(default=2, validators=[at_most(10)])
    max_pages_per_catalog = models.PositiveIntegerField(default=50, validators=[MinValueValidator(1), at_most(10_000)])
    include_specials = models.BooleanField("include specials (season 0)", default=False)
    include_unreleased = models.BooleanField("include unreleased episodes", default=False)
    episodes_per_series = models.IntegerField(
        "episodes per series", default=-1, validators=[validate_limit, AT_MOST_MAX_COUNT], help_text="Newest first; -1 = all."
    )
    fallback_meta_url = models.CharField(
        "fallback meta addon", max_length=2000, blank=True, default=CINEMETA_MANIFEST_URL,
        help_text="Lists a series' episodes when no configured addon serves its meta.",
    )

    cache_requests_enabled = models.BooleanField("stream source cache requests", default=False)
    cached_stream_regex = models.CharField(max_length=500, default="⚡", validators=[validate_regex])
    skip_stream_regex = models.CharField(max_length=500, blank=True, validators=[validate_regex])
    cache_requests_per_item = models.PositiveIntegerField(default=1, validators=[at_most(100)])
    cache_requests_global = models.PositiveIntegerField(default=50, validators=[AT_MOST_MAX_COUNT])
    cached_streams_threshold = models.PositiveIntegerField(
        default=0, validators=[at_most(1000)],
        help_text="Request uncached streams when at most this many cached ones were found.",
    )
    cache_request_hosts = models.CharField(
        "extra hosts for cache requests", max_length=1000, blank=True,
        help_text="Comma-separated. The stream addon's own host is always allowed.",
    )
    verify_sample_size = models.PositiveIntegerField(
        "verify: streams sampled per addon", default=20, validators=[at_most(10_000)],
        help_text="After a run, request this many of the streams it warmed again and compare the answer "
        "times (cold, then warm). 0 = off.",
    )
    run_retention_days = models.PositiveIntegerField(
        "keep runs and logs for (days)", default=90, validators=[at_most(3650, " (ten years)")],
    )
    release_delay_s = models.IntegerField(
        "warm new episodes after their release by (s)", default=3600, validators=[MinValueValidator(0), AT_MOST_A_DAY],
        help_text="Release-day warming requests an announced episode once it has been out this long.",
    )
    follow_next_episodes = models.PositiveIntegerField(
        "next episodes warmed when one is opened", default=2, validators=[at_most(20)],
        help_text="When someone opens an episode (the companion addon), this many following aired episodes "
        "are warmed. 0 = none.",
    )

    class Meta:
        verbose_name = verbose_name_plural = "prefetch settings"

    def __str__(self):
        return "Prefetch settings"

    def clean(self):
        """With the fields' validators, the one validation of settings (`full_clean`): the Settings
        page, the API, the admin and the import all go through it (see prefetch.settings_changes)."""
        errors = {
            field.name: [NUL_REFUSAL] for field in self._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField) and has_nul(getattr(self, field.name))
        }
        for name, rule in NORMALISED_SETTINGS.items():
            if name in errors:
                continue
            try:
                setattr(self, name, rule(getattr(self, name)))
            except ValidationError as error:
                errors[name] = error.messages
        if errors:
            raise ValidationError(errors)

    @classmethod
    def load(cls) -> "PrefetchSettings":
        settings, _ = cls.objects.get_or_create(pk=1)
        return settings


def addon_proxy() -> str | None:
    """The HTTP proxy (Settings) requests to addons go through, or None: what the addon pages, the
    API, the admin and the health probe pass to the addons app (a run reads it with its other
    settings)."""
    return PrefetchSettings.load().proxy_url or None


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
    first_latency_ms = models.FloatField(
        null=True, blank=True,
        help_text="How long the first answer recorded for this video took: before any run had warmed it.",
    )
    looked_cached = models.BooleanField(
        null=True, blank=True, help_text="Whether the last answer came about as fast as the addon's fastest in its run."
    )
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="When the last success expires in the addon's cache (its max-age)."
    )

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

    @property
    def state(self) -> str:
        """ok, empty, failed or never: the Records filter's words (an error outranks an older success)."""
        if self.last_error:
            return "failed"
        if self.last_success is None:
            return "never"
        return "ok" if self.stream_count else "empty"


class UpcomingRelease(models.Model):
    """An episode announced with a release time (remembered by runs): release-day warming requests
    it on every stream addon that serves it once it has been out for the release delay."""

    content_type = models.TextField("type")
    series_id = models.TextField()
    series_name = models.CharField(max_length=400, blank=True)
    video_id = models.TextField()
    label = models.CharField(max_length=40, blank=True, help_text="S01E02 for episodes.")
    released_at = models.DateTimeField()
    warmed_at = models.DateTimeField(null=True, blank=True, help_text="When the release pass warmed it.")

    class Meta:
        ordering = ["released_at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["content_type", "video_id"], name="unique_release_per_video")
        ]
        indexes = [models.Index(fields=["warmed_at", "released_at"], name="release_due_idx")]

    def __str__(self):
        return f"{self.title} at {self.released_at:%Y-%m-%d %H:%M}"

    @property
    def title(self) -> str:
        return f"{self.series_name or self.series_id} {self.label}".strip()


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
# A run that went to an end of its own (not one skipped before it began).
FINISHED_STATUSES = [RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.FAILED, RunStatus.CANCELLED,
                     RunStatus.ABORTED]


class RunTrigger(models.TextChoices):
    MANUAL = "manual"
    SCHEDULE = "schedule"
    CLI = "cli"
    API = "api"
    RELEASE = "release"
    FOLLOW = "follow"


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
    verification = models.JSONField(
        default=dict, blank=True, help_text="Streams re-requested after the run: cold and warm answer times per addon."
    )
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
    # The schedule that started the run (or its firing that was skipped): an id, not a foreign key,
    # since schedules are built on runs; a deleted schedule leaves its runs as they were.
    schedule_id = models.PositiveIntegerField(null=True, blank=True, help_text="The schedule that started it.")

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            # The database, not the code, guarantees a single active run.
            models.UniqueConstraint(
                models.Value(1), condition=models.Q(status__in=ACTIVE_STATUSES), name="one_active_run"
            )
        ]
        indexes = [
            models.Index(fields=["status"], name="run_status_idx"),
            models.Index(fields=["schedule_id", "-created_at"], name="run_schedule_idx"),
        ]

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


class PeriodicWork(models.Model):
    """The last time each of the app's own periodic tasks ran (release pass, addon health, pruning):
    one row per task, rewritten at each run, for the Tasks list (see prefetch.periodic_work)."""

    name = models.CharField(max_length=100, unique=True, help_text="The Celery task.")
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True, help_text="Empty when it went through.")

    def __str__(self):
        return f"{self.name} at {self.started_at:%Y-%m-%d %H:%M:%S}"


class MetricTotal(models.Model):
    """A monotonic total behind /metrics: stream requests by outcome and their latency histogram,
    per stream addon. Added to in the same transaction that saves the engine's answers (so a flush
    that is retried never counts twice) and never lowered: pruning the run history or invalidating
    records leaves it as it is, as a Prometheus counter must be. The web process reads it, since the
    engine runs in a worker process. See prefetch/metric_totals.py."""

    metric = models.CharField(max_length=40)
    addon_name = models.CharField(max_length=200)
    label = models.CharField(max_length=40, blank=True, help_text="The outcome, or a latency bucket's upper bound.")
    value = models.FloatField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["metric", "addon_name", "label"], name="unique_metric_total")
        ]

    def __str__(self):
        return f"{self.metric}{{{self.addon_name},{self.label}}} = {self.value:g}"
