"""Pages: dashboard (live status), run history, completion statistics, prefetch records, log viewer."""

from django.core.paginator import Paginator
from django.shortcuts import get_object_or_404, render

from prefetch.models import PrefetchSettings, Run, RunStatus, RunTrigger
from prefetch.web.selectors import RECORD_STATUSES, filtered_records, filtered_runs, job_status, run_detail


def dashboard(request):
    return render(request, "prefetch/dashboard.html", {"status": job_status()})


def history(request):
    runs = filtered_runs(request.GET)
    page = Paginator(runs, 50).get_page(request.GET.get("page"))
    recent = list(Run.objects.exclude(status=RunStatus.SKIPPED).filter(started_at__isnull=False)[:30])
    chart = [
        {
            "id": run.pk, "status": run.status, "start": run.started_at.isoformat(),
            "duration_s": run.duration_s,
            "movies": (run.statistics or {}).get("movies_prefetched", 0),
            "series": (run.statistics or {}).get("series_prefetched", 0),
            "episodes": (run.statistics or {}).get("episodes_prefetched", 0),
        }
        for run in reversed(recent)
    ]
    return render(request, "prefetch/history.html", {
        "page": page, "chart": chart, "statuses": RunStatus.choices, "triggers": RunTrigger.values,
        "status": request.GET.get("status", ""), "trigger": request.GET.get("trigger", ""),
        "retention_days": PrefetchSettings.load().run_retention_days,
    })


def run_page(request, pk: int):
    run = get_object_or_404(Run, pk=pk)
    return render(request, "prefetch/run.html", {"run": run, "detail": run_detail(run)})


def records(request):
    q = request.GET.get("q", "").strip()
    state = request.GET.get("status", "")
    if state not in RECORD_STATUSES:
        state = ""
    run_id = request.GET.get("run", "")
    run_id = int(run_id) if run_id.isdigit() else None
    page = Paginator(filtered_records(q, state, run_id), 100).get_page(request.GET.get("page"))
    return render(request, "prefetch/records.html", {
        "page": page, "q": q, "state": state, "statuses": RECORD_STATUSES, "run_id": run_id,
    })


def logs(request):
    return render(request, "prefetch/logs.html", {"logging_enabled": PrefetchSettings.load().logging_enabled})
