"""Tells someone when a run ends, and when an addon goes down or comes back: a JSON POST to a
webhook, and/or an Apprise URL.

Configured from the environment (settings): NOTIFY_WEBHOOK_URL, NOTIFY_APPRISE_URL (used when the
apprise package is installed), NOTIFY_ON = failure (failed and aborted runs, and runs that warmed
nothing) or always. Addon health is told at each change to or from `down`, whatever NOTIFY_ON says.
A notification never changes a run's outcome: every failure is logged, never raised.
"""

import logging
from urllib.parse import urlsplit

import requests
from django.conf import settings

from addons.health import HealthChange
from addons.redaction import redact_text

from .models import FINISHED_STATUSES, Run, RunStatus

logger = logging.getLogger("prefetch.notifications")

FAILURE_STATUSES = {RunStatus.FAILED, RunStatus.ABORTED}
FINAL_STATUSES = set(FINISHED_STATUSES)
SUMMARY_FIGURES = (
    "catalogs_processed", "catalogs_failed", "movies_prefetched", "series_prefetched", "episodes_prefetched",
    "already_prefetched", "items_failed", "videos_failed", "items_unsupported", "stream_requests", "stream_requests_ok",
    "stream_requests_not_found", "stream_requests_failed", "stream_requests_retried_ok",
)


def endpoint_label(url: str) -> str:
    """Scheme and host only: webhook paths often are the secret (Discord, Slack, ntfy topics)."""
    try:
        parts = urlsplit(url)
        return f"{parts.scheme}://{parts.hostname}{f':{parts.port}' if parts.port else ''}/…"
    except ValueError:
        return "(invalid URL)"


def warmed_nothing(run: Run) -> bool:
    """Ended as if all went well, yet nothing is warm: no stream request succeeded and no title was
    warm already (every addon refused, or the catalogs were empty)."""
    stats = run.statistics or {}
    completed = run.status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES)
    return completed and not stats.get("stream_requests_ok") and not stats.get("already_prefetched")


def wanted(run: Run) -> bool:
    if run.status not in FINAL_STATUSES:
        return False
    return settings.NOTIFY_ON == "always" or run.status in FAILURE_STATUSES or warmed_nothing(run)


def summary_line(run: Run) -> str:
    stats = run.statistics or {}
    if run.status in FAILURE_STATUSES:
        return f"Run #{run.pk} {run.status}: {redact_text(run.error or run.stop_reason or 'no reason given')}"
    if warmed_nothing(run):
        requests = stats.get("stream_requests", 0)
        return (f"Run #{run.pk} {run.status} but warmed nothing: {requests} stream request"
                f"{'s' if requests != 1 else ''}, none answered")
    figures = ", ".join(
        f"{stats.get(key, 0)} {label}"
        for key, label in (("movies_prefetched", "movies"), ("series_prefetched", "series"),
                           ("stream_requests_failed", "failed requests"))
    )
    return f"Run #{run.pk} {run.status} ({run.stop_reason or run.status}): {figures}"


def payload(run: Run) -> dict:
    """The webhook body: what happened, no addon URL (they may carry secrets)."""
    stats = run.statistics or {}
    return {
        "event": "run.finished",
        "summary": summary_line(run),
        "warmed_nothing": warmed_nothing(run),
        "run": {
            "id": run.pk,
            "status": run.status,
            "trigger": run.trigger,
            "stop_reason": run.stop_reason,
            "error": redact_text(run.error or ""),
            "created_at": run.created_at.isoformat() if run.created_at else None,
            "started_at": run.started_at.isoformat() if run.started_at else None,
            "finished_at": run.finished_at.isoformat() if run.finished_at else None,
            "duration_s": run.duration_s,
            "statistics": {key: stats[key] for key in SUMMARY_FIGURES if key in stats},
            "addons": [
                {key: entry.get(key) for key in ("name", "requests", "ok", "empty", "failed", "given_up")}
                for entry in (run.addons or [])
            ],
        },
    }


def send_webhook(url: str, body: dict, timeout_s: float) -> None:
    """POST the body as JSON; raises requests.RequestException for a network error or a non-2xx answer."""
    # stream=True and closing at once: the receiver's answer body is of no use to us.
    with requests.post(url, json=body, headers={"User-Agent": "streams-prefetcher"}, timeout=timeout_s,
                       stream=True) as response:
        response.raise_for_status()


def webhook_error(error: requests.RequestException) -> str:
    """What went wrong, without the URL: requests' messages carry its path, often the webhook's secret."""
    if isinstance(error, requests.HTTPError) and error.response is not None:
        return f"HTTP {error.response.status_code}"
    return error.__class__.__name__


def send_apprise(url: str, title: str, body: str, failed: bool) -> bool | None:
    try:
        import apprise
    except ImportError:
        logger.warning("NOTIFY_APPRISE_URL is set but the apprise package is not installed; skipping it")
        return None
    notifier = apprise.Apprise()
    if not notifier.add(url):
        logger.error("NOTIFY_APPRISE_URL is not a URL Apprise understands (%s)", endpoint_label(url))
        return False
    kind = apprise.NotifyType.FAILURE if failed else apprise.NotifyType.SUCCESS
    return bool(notifier.notify(title=title, body=body, notify_type=kind))


def health_payload(change: HealthChange) -> dict:
    """The webhook body of an addon that went down or came back: its label, never its URL."""
    said = f"is down: {change.message}" if change.went_down else f"is back ({change.after})"
    return {
        "event": "addon.down" if change.went_down else "addon.back",
        "summary": f"{change.addon} {said}",
        "addon": {
            "name": change.addon,
            "status": change.after,
            "previous_status": change.before,
            "message": change.message,
            "checked_at": change.checked_at.isoformat(),
        },
    }


def notify_run_finished(run: Run) -> None:
    """Send the configured notifications for a run that has just ended (never raises)."""
    try:
        if wanted(run):
            failed = run.status in FAILURE_STATUSES or warmed_nothing(run)
            _send(f"run {run.pk}", f"Streams Prefetcher: run {run.status}", payload(run), failed)
    except Exception:  # a notification bug must never turn a finished run into a failed one
        logger.exception("Notifying the end of run %s failed", run.pk)


def notify_health_changes(changes: list[HealthChange]) -> None:
    """Send the configured notifications for addons that went down or came back (never raises)."""
    for change in changes:
        try:
            title = f"Streams Prefetcher: {change.addon} {'is down' if change.went_down else 'is back'}"
            _send(f"addon {change.addon}", title, health_payload(change), change.went_down)
        except Exception:  # a notification bug must never stop the probe
            logger.exception("Notifying the health of %s failed", change.addon)


def _send(subject: str, title: str, body: dict, failed: bool) -> None:
    """POST `body` to the webhook and its summary to Apprise, whichever are configured."""
    webhook, apprise_url = settings.NOTIFY_WEBHOOK_URL, settings.NOTIFY_APPRISE_URL
    if webhook:
        try:
            send_webhook(webhook, body, settings.NOTIFY_TIMEOUT_S)
            logger.info("Notified %s of %s (%s)", endpoint_label(webhook), subject, body["event"])
        except requests.RequestException as error:
            logger.error("Webhook %s did not take the notification of %s: %s", endpoint_label(webhook), subject,
                         webhook_error(error))
    if apprise_url:
        sent = send_apprise(apprise_url, title, body["summary"], failed)
        if sent:
            logger.info("Notified Apprise of %s (%s)", subject, body["event"])
        elif sent is False:
            logger.error("Apprise did not take the notification of %s", subject)
