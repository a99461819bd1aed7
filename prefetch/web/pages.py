"""Pages: run history, completion statistics, prefetch records, log viewer (the dashboard is the
site's overview: prefetcher_site/dashboard.py)."""

from collections import defaultdict
from functools import reduce
from operator import or_

from django.core.paginator import Paginator
from django.db.models import Max, Q
from django.shortcuts import get_object_or_404, render
from django.utils import timezone

from addons.manifest import NUL_REFUSAL, has_nul
from prefetch import run_logs
from prefetch.measured_effect import summary_lines
from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunStatus, RunTrigger
from prefetch.profiles import describe_profile
from prefetch.record_store import WARM_FOREVER, warm_until
from prefetch.web.filters import RECORD_STATUSES, RecordFilter, RunFilter
from prefetch.web.selectors import records_per_addon, run_detail

# ?sort= of the Records page: (ordering of the video groups, label).
RECORD_SORTS = {
    "recent": (("-last", "video_id"), "Most recent first"),
    "oldest": (("last", "video_id"), "Oldest first"),
    "title": (("name", "video_id"), "Title"),
    "id": (("video_id", "content_type"), "Id"),
}


def _valid(chosen, name: str):
    """A filter's value as the list applies it: empty when not given or refused (a page shows the list
    unfiltered by a value that does not validate, where the API answers 400)."""
    chosen.is_valid()
    return chosen.form.cleaned_data.get(name) or ""


def history(request):
    chosen = RunFilter(request.GET)
    page = Paginator(chosen.qs, 50).get_page(request.GET.get("page"))
    recent = list(Run.objects.exclude(status=RunStatus.SKIPPED).filter(started_at__isnull=False)[:30])
    chart = [
        {
            "id": run.pk, "status": run.status, "start": run.started_at.isoformat(),
            "duration_s": run.duration_s,
            "movies": (run.statistics or {}).get("movies_prefetched", 0),
            "series": (run.statistics or {}).get("series_prefetched", 0),
            "episodes": (run.statistics or {}).get("episodes_prefetched", 0),
            "verification": summary_lines(run.verification),
        }
        for run in reversed(recent)
    ]
    return render(request, "prefetch/history.html", {
        "page": page, "chart": chart, "measured": [row for row in reversed(chart) if row["verification"]],
        "statuses": RunStatus.choices, "triggers": RunTrigger.values,
        "status": _valid(chosen, "status"), "trigger": _valid(chosen, "trigger"),
        "retention_days": PrefetchSettings.load().run_retention_days,
    })


def run_page(request, pk: int):
    run = get_object_or_404(Run, pk=pk)
    profile = describe_profile(run.options["profile"]) if "profile" in run.options else ""
    return render(request, "prefetch/run.html", {"run": run, "detail": run_detail(run), "profile": profile})


def records(request):
    """One row per video, with each stream addon's record of it as a status chip."""
    chosen = RecordFilter(request.GET)
    # A NUL is never sent to the database (PostgreSQL refuses it): the page, unfiltered by it, says why.
    q_error = NUL_REFUSAL if has_nul(request.GET.get("q", "")) else ""
    addons = records_per_addon()
    sort = request.GET.get("sort", "recent")
    if sort not in RECORD_SORTS:
        sort = "recent"
    videos = (
        chosen.qs.order_by().values("content_type", "video_id")
        .annotate(name=Max("title"), last=Max("last_attempt")).order_by(*RECORD_SORTS[sort][0])
    )
    page = Paginator(videos, 100).get_page(request.GET.get("page"))
    chips = defaultdict(list)
    if page.object_list:
        names = {row["addon_key"]: row["name"] for row in addons}
        settings = PrefetchSettings.load()
        wanted = reduce(or_, (Q(content_type=v["content_type"], video_id=v["video_id"]) for v in page.object_list))
        for record in PrefetchRecord.objects.filter(wanted):
            record.label = names.get(record.addon_key) or record.addon_name
            record.warm_until = warm_until(record, settings.cache_validity_s, settings.cache_validity_auto)
            record.warm_forever = record.warm_until == WARM_FOREVER
            chips[(record.content_type, record.video_id)].append(record)
    rows = [{**video, "records": sorted(chips[(video["content_type"], video["video_id"])], key=lambda r: r.label)}
            for video in page.object_list]
    return render(request, "prefetch/records.html", {
        "q_error": q_error, "page": page, "rows": rows, "q": _valid(chosen, "q").strip(), "state": _valid(chosen, "status"),
        "statuses": RECORD_STATUSES, "run_id": _valid(chosen, "run") or None, "addons": addons,
        "addon": _valid(chosen, "addon"), "sort": sort, "sorts": [(key, label) for key, (_, label) in RECORD_SORTS.items()],
        "records_total": chosen.qs.count(), "now": timezone.now(),
    }, status=400 if q_error else 200)


def logs(request):
    """The log files, newest first, paged like the run history (a file opens in the page's viewer)."""
    page = Paginator(run_logs.list_logs(), 50).get_page(request.GET.get("page"))
    return render(request, "prefetch/logs.html", {"page": page, "logging_enabled": PrefetchSettings.load().logging_enabled})
