"""Addon health: a cheap probe of every enabled addon (its manifest, through the addon client) and
what the last run saw of its stream requests give each addon a status (AddonHealth.status).

The probe asks all addons at once (one client, one request each, side by side), outside any
transaction, and only then writes what it learned; it returns the addons whose status went to or
came back from `down`, for the caller to notify (this app imports nothing of the apps above it):
beat's periodic task, and "Check now" (the API, with the notifier the site's URLconf passes down).
"""

import asyncio
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import async_to_sync
from django.db import transaction
from django.utils import timezone

from . import services
from .client import AddonClient
from .manifest import Manifest, ManifestError
from .models import Addon, AddonHealth, HealthStatus
from .redaction import redact_text

# A run's stream requests to an addon failing this often make it degraded; below it, the odd
# failure of a busy scraper is the run page's business, not an alarm.
DEGRADED_FAILURE_SHARE = 0.05
MESSAGE_CHARS = 300  # AddonHealth's message fields


@dataclass(frozen=True)
class HealthChange:
    """An addon that went down, or came back, at a probe."""

    addon: str  # its label: name · fingerprint, never its URL
    before: str
    after: str
    message: str
    checked_at: datetime

    @property
    def went_down(self) -> bool:
        return self.after == HealthStatus.DOWN


async def _probe_one(client: AddonClient, url: str) -> str:
    """The problem with the addon's manifest in plain words, or "" when it answered one."""
    try:
        result = await client.get_json(url, client.limits.max_manifest_bytes)
    except services.EXPECTED_FETCH_ERRORS as error:  # a URL the HTTP stack refuses to send
        return f"could not fetch the manifest ({error.__class__.__name__})"
    if not result.ok:
        return result.error
    try:
        Manifest(result.data)
    except ManifestError as error:
        return f"not a valid manifest: {error}"
    return ""


def probe_manifests(urls: list[str], proxy: str | None) -> list[str]:
    """Fetch every manifest side by side: N addons take one timeout, not N. No database access."""

    limits = services.client_limits()  # read here: no database in the loop

    async def probe_all():
        async with AddonClient(timeout_s=services.MANIFEST_TIMEOUT_S, retries=1, proxy=proxy, limits=limits) as client:
            return await asyncio.gather(*(_probe_one(client, url) for url in urls))

    return async_to_sync(probe_all)()


def probe_all(proxy: str | None = None) -> list[HealthChange]:
    """Probe every enabled addon (through `proxy`, the runs' HTTP proxy, if any) and record it;
    returns the addons that went down or came back."""
    addons = list(Addon.objects.filter(enabled=True))
    if not addons:
        return []
    problems = probe_manifests([addon.url for addon in addons], proxy)  # before the transaction: it may take a timeout
    now = timezone.now()
    changes = []
    with transaction.atomic():
        still_there = set(Addon.objects.filter(pk__in=[addon.pk for addon in addons]).values_list("pk", flat=True))
        for addon, problem in zip(addons, problems):
            if addon.pk not in still_there:  # deleted while it was probed
                continue
            # Locked: a "Check now" and beat's probe may overlap, and each change is told once.
            health, _ = AddonHealth.objects.select_for_update().get_or_create(addon=addon)
            before = health.status
            health.probed_at = now
            health.probe_error = redact_text(problem)[:MESSAGE_CHARS]
            health.save(update_fields=["probed_at", "probe_error"])
            if (before == HealthStatus.DOWN) != (health.status == HealthStatus.DOWN):
                changes.append(HealthChange(addon.label, before, health.status, health.message, now))
    return changes


def run_problem(report: dict) -> str:
    """What a run's report of one stream addon says is wrong with it, or "" (see DEGRADED_FAILURE_SHARE)."""
    if report.get("given_up"):
        return redact_text(report.get("message") or "given up after repeated failures")[:MESSAGE_CHARS]
    requests, failed = report.get("requests") or 0, report.get("failed") or 0
    if not requests or failed / requests < DEGRADED_FAILURE_SHARE:
        return ""
    cause = report.get("last_error") or "failures"
    return redact_text(f"{cause} on {round(100 * failed / requests)} % of titles")[:MESSAGE_CHARS]


def record_run(run_id: int, finished_at: datetime, addon_reports: list[dict]) -> None:
    """After a run: the addons it asked for streams (its per-addon reports, by `key`) take its verdict."""
    reports = {report["key"]: report for report in addon_reports
               if report.get("key") and (report.get("requests") or report.get("given_up"))}
    if not reports:
        return
    for addon in Addon.objects.only("id", "url"):  # the key is a hash of the URL: matched here
        report = reports.get(addon.key)
        if report is None:
            continue
        health, _ = AddonHealth.objects.get_or_create(addon=addon)
        health.run_id, health.run_finished_at, health.run_problem = run_id, finished_at, run_problem(report)
        health.save(update_fields=["run_id", "run_finished_at", "run_problem"])


def health_of(addon: Addon) -> dict:
    """The addon's health as pages and the API show it: {status, label, checked_at (ISO), message}.
    Load addons with select_related("health")."""
    health = getattr(addon, "health", None) if addon.pk else None
    if health is None:
        return {"status": HealthStatus.UNKNOWN.value, "label": HealthStatus.UNKNOWN.label, "checked_at": None,
                "message": ""}
    status = HealthStatus(health.status)
    checked_at = health.checked_at
    return {"status": status.value, "label": status.label, "checked_at": checked_at.isoformat() if checked_at else None,
            "message": health.message}


def enabled_addons_health() -> list[tuple[str, dict]]:
    """(label, health) of every enabled addon, in the Addons page's order: the dashboard's list."""
    return [(addon.label, health_of(addon))
            for addon in Addon.objects.filter(enabled=True).select_related("health").defer("manifest")]
