"""Queries the pages and the API share: the status of the current (or last) run, run history and
prefetch records, each with its filters."""

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.module_loading import import_string

from addons.models import Addon
from prefetch import progress
from prefetch.models import ACTIVE_STATUSES, PrefetchRecord, Run, RunStatus, RunTrigger
from prefetch.runs.active import active_run
from prefetch.status_cache import SharedAnswer
from prefetch.verification import summary_lines


def run_detail(run: Run) -> dict:
    body = progress.run_payload(run)
    body["options"] = run.options
    body["statistics"] = run.statistics
    body["catalogs"] = run.catalogs
    body["addons"] = run.addons
    body["failed_records_url"] = failed_records_url(run)
    body["verification"] = run.verification or None
    body["verification_lines"] = summary_lines(run.verification)
    return body


def failed_records_url(run: Run) -> str:
    """The records page showing the stream requests this run left failed (see `filtered_records`)."""
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
            body["summary"] = run.statistics
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


def filtered_runs(params):
    runs = Run.objects.all()
    if params.get("status") in RunStatus.values:
        runs = runs.filter(status=params["status"])
    if params.get("trigger") in RunTrigger.values:
        runs = runs.filter(trigger=params["trigger"])
    return runs


RECORD_STATUSES = ("ok", "empty", "failed", "never")


def filtered_records(q: str = "", state: str = "", addon: str = "", run_id: int | None = None):
    """Records by text and state; with `run_id`, those last attempted during that run (so `failed`
    lists what the run left failed and no later run has requested again)."""
    records = PrefetchRecord.objects.all()
    if addon:
        records = records.filter(addon_key=addon)
    run = Run.objects.filter(pk=run_id, started_at__isnull=False).first() if run_id else None
    if run_id:
        if run is None:
            return records.none()
        records = records.filter(last_attempt__gte=run.started_at)
        if run.finished_at:
            records = records.filter(last_attempt__lte=run.finished_at)
    q = (q or "").strip()
    if q:
        records = records.filter(Q(title__icontains=q) | Q(video_id__icontains=q))
    if state == "ok":
        records = records.filter(last_success__isnull=False, stream_count__gt=0)
    elif state == "empty":
        records = records.filter(last_success__isnull=False, stream_count=0)
    elif state == "failed":
        records = records.exclude(last_error="")
    elif state == "never":
        records = records.filter(last_success__isnull=True)
    return records.order_by("-last_attempt", "-id")


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
