"""The dashboard: the site's home page. While a run goes it shows the run live; otherwise an
overview of runs, schedules, the scheduler and the worker, and the first-run checklist until the
set-up is done."""

from django.shortcuts import render

from addons.health import enabled_addons_health
from prefetch.web.selectors import job_status

from .ops import check_worker
from .overview import first_run_steps, idle_overview


def dashboard(request):
    steps = first_run_steps()
    return render(request, "prefetch/dashboard.html", {
        "status": job_status(),
        "steps": steps if not all(step.done for step in steps) else None,
        "overview": idle_overview(check_worker(first_only=True)),
        "addon_health": enabled_addons_health(),
    })
