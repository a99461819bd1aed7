"""Queries the pages and the API share: the status of the current (or last) run, a run's detail and
the records per addon (the lists' filters: filters.py)."""

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from addons.models import Addon
from prefetch import progress
from prefetch.deprecated_names import catalogs_with_old_names, statistics_with_old_names
from prefetch.measured_effect import summary_lines
from prefetch.models import ACTIVE_STATUSES, PrefetchRecord, Run, RunStatus
from prefetch.runs.active import active_run
from prefetch.status_cache import SharedAnswer


def run_detail(run: Run) -> dict:
    body = progress.run_payload(run)
    body["options"] = run.options
    body["statistics"] = statistics_with_old_names(run.statistics)
    body["catalogs"] = catalogs_with_old_names(run.catalogs)
    body["addons"] = run.addons
    body["failed_records_url"] = failed_records_url(run)
    body["verification"] = run.verification or None
    body["verification_lines"] = summary_lines(run.verification)
    return body


def failed_records_url(run: Run) -> str:
    """The records page showing the stream requests this run left failed (see `RecordFilter`)."""
    return f"{reverse('records')}?status=failed&run={run.pk}"


def job_status() -> dict:
    run = active_run() or Run.objects.exclude(status=RunStatus.SKIPPED).first()
    if run is None:
        body = {"id": None, "status": "idle", "active": False, "seq": 0, "progress": {}, "error": "",
                "start_time": None, "end_time": None}
    elif run.is_active:
        body = progress.run_payload(run)
    else:
        body = run_detail(run)
        if run.status in (RunStatus.COMPLETED, RunStatus.COMPLETED_WITH_FAILURES, RunStatus.CANCELLED):
            body["summary"] = body["statistics"]
    # The next scheduled run and whether the scheduler is alive: the schedules app is built on this
    # one, so the site's settings name its summary (RUN_STATUS_SCHEDULE_SUMMARY).
    body.update(import_string(settings.RUN_STATUS_SCHEDULE_SUMMARY)())
    body["server_time"] = timezone.now().isoformat()
    return body


# During a run, pollers share an answer at most half a second old (the run's snapshot changes
# once a second); otherwise a change (a schedule saved, a run ended) shows at once.
STATUS = SharedAnswer(job_status, max_age_s=0.5)


def polled_status() -> dict:
    return STATUS.get() if Run.objects.filter(status__in=ACTIVE_STATUSES).exists() else job_status()


def records_per_addon() -> list[dict]:
    """Records per stream addon, named as the Addons page names it (records outlive their addon)."""
    labels = {addon.key: addon.label for addon in Addon.objects.all()}
    rows = (
        PrefetchRecord.objects.values("addon_key")
        .annotate(total=Count("id"), ok=Count("id", filter=Q(last_success__isnull=False, last_error="")),
                  failed=Count("id", filter=~Q(last_error="")))
        .order_by("-total")
    )
    names = dict(PrefetchRecord.objects.values_list("addon_key", "addon_name").distinct())
    return [{**row, "name": labels.get(row["addon_key"]) or names.get(row["addon_key"]) or "removed addon"} for row in rows]
