from django.db import models

from .manifest import CatalogExtra, Manifest, addon_fingerprint, addon_key, search_only, unmet_extras
from .redaction import redact_url


class AddonRole(models.TextChoices):
    BOTH = "both", "Both (catalog + stream)"
    CATALOG = "catalog", "Catalog only"
    STREAM = "stream", "Stream only"


# The roles whose addons are walked for catalogs, and asked for streams.
CATALOG_ROLES = (AddonRole.BOTH, AddonRole.CATALOG)
STREAM_ROLES = (AddonRole.BOTH, AddonRole.STREAM)


class Addon(models.Model):
    url = models.CharField(
        "transport URL", max_length=2000, unique=True, help_text="Normalised …/manifest.json URL; may hold a secret."
    )
    role = models.CharField(max_length=10, choices=AddonRole.choices, default=AddonRole.BOTH)
    position = models.PositiveIntegerField(default=0)
    enabled = models.BooleanField(default=True)
    name = models.CharField(max_length=200, blank=True, help_text="From the manifest.")
    display_name = models.CharField(
        max_length=200, null=True, blank=True, help_text="Your name for this configuration; the manifest's name when empty."
    )
    logo = models.CharField(max_length=2000, blank=True)
    version = models.CharField(max_length=50, blank=True)
    manifest = models.JSONField(default=dict, blank=True, help_text="Cached manifest summary.")
    fetched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self):
        return self.label

    @property
    def title(self) -> str:
        return self.display_name or self.name or self.redacted_url

    @property
    def fingerprint(self) -> str:
        return addon_fingerprint(self.url)

    @property
    def label(self) -> str:
        """How every page names the addon: two configurations of one addon differ by the fingerprint."""
        return f"{self.title} · {self.fingerprint}"

    @property
    def redacted_url(self) -> str:
        return redact_url(self.url)

    @property
    def key(self) -> str:
        return addon_key(self.url)

    @property
    def serves_catalogs(self) -> bool:
        return self.role in CATALOG_ROLES

    @property
    def serves_streams(self) -> bool:
        return self.role in STREAM_ROLES

    def apply_manifest(self, manifest: Manifest, fetched_at) -> None:
        summary = manifest.summary()
        self.manifest = summary
        self.name = summary["name"][:200]
        self.logo = summary["logo"][:2000]
        self.version = summary["version"][:50]
        self.fetched_at = fetched_at


class Catalog(models.Model):
    addon = models.ForeignKey(Addon, on_delete=models.CASCADE, related_name="catalog_set")
    # Text: addons choose types, ids and names of any length (see manifest.MAX_ID_CHARS).
    content_type = models.TextField("type")
    catalog_id = models.TextField()
    name = models.TextField(blank=True)
    extras = models.JSONField(default=list, blank=True, help_text="Extras declared in the manifest.")
    extra_values = models.JSONField(
        default=dict, blank=True, help_text='Chosen values for extras, e.g. {"genre": "Drama"}.'
    )
    enabled = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    missing = models.BooleanField(default=False, help_text="No longer in the addon's manifest.")

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["addon", "content_type", "catalog_id"], name="unique_catalog_per_addon")
        ]

    def __str__(self):
        return f"{self.name or self.catalog_id} ({self.content_type})"

    @property
    def extra_specs(self) -> tuple[CatalogExtra, ...]:
        return tuple(CatalogExtra.from_dict(extra) for extra in self.extras)

    @property
    def search_only(self) -> bool:
        return search_only(self.extra_specs)

    @property
    def unmet_required_extras(self) -> list[str]:
        return unmet_extras(self.extra_specs, self.extra_values)


class HealthStatus(models.TextChoices):
    OK = "ok", "OK"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"
    UNKNOWN = "unknown", "Not checked yet"


class AddonHealth(models.Model):
    """What is known of an addon's health: the last manifest probe (addons.health, every
    ADDON_HEALTH_INTERVAL_S) and how its stream requests went in the last run that asked it."""

    addon = models.OneToOneField(Addon, on_delete=models.CASCADE, primary_key=True, related_name="health")
    probed_at = models.DateTimeField(null=True, blank=True)
    probe_error = models.CharField(max_length=300, blank=True, help_text="Empty when the manifest answered.")
    run_id = models.PositiveIntegerField(null=True, blank=True, help_text="The last run that asked it for streams.")
    run_finished_at = models.DateTimeField(null=True, blank=True)
    run_problem = models.CharField(max_length=300, blank=True, help_text="Empty when that run found it healthy.")

    class Meta:
        verbose_name_plural = "addon health"

    def __str__(self):
        return f"{self.addon}: {self.status}"

    @property
    def status(self) -> str:
        """down: the manifest did not answer at the last probe; degraded: it answers, but the last
        run's stream requests failed too often; ok; unknown before the first probe or run."""
        if self.probe_error:
            return HealthStatus.DOWN
        if self.run_problem:
            return HealthStatus.DEGRADED
        if self.probed_at or self.run_finished_at:
            return HealthStatus.OK
        return HealthStatus.UNKNOWN

    @property
    def checked_at(self):
        return max((moment for moment in (self.probed_at, self.run_finished_at) if moment), default=None)

    @property
    def message(self) -> str:
        if self.probe_error:
            return self.probe_error
        if self.run_problem:
            return f"{self.run_problem} in run #{self.run_id}"
        return ""
