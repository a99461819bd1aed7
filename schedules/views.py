"""Schedules page: plain server-rendered forms (POST + redirect), beat kept in sync by services."""

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from prefetch.runs.lifecycle import RunRefused

from . import liveness, services
from .forms import ScheduleForm
from .models import Schedule, SchedulingSettings
from .periodic import periodic_tasks


def _rows():
    return [
        {"schedule": schedule, "next": services.next_occurrence(schedule) if schedule.enabled else None}
        for schedule in services.with_last_runs()
    ]


def schedules_page(request):
    next_run = services.next_run_time()
    scheduler = liveness.scheduler_status()
    return render(
        request,
        "schedules/schedules.html",
        {
            "rows": _rows(),
            "global": SchedulingSettings.load(),
            "server_tz": settings.TIME_ZONE,
            "next_run": next_run,
            "scheduler": scheduler,
            "heartbeat": liveness.last_heartbeat(),
            # Only worth a warning when something should fire.
            "scheduler_warning": liveness.not_running_warning(scheduler) if next_run else None,
            "form": ScheduleForm(initial={"days": list(range(7)), "enabled": True}),
            "tasks": periodic_tasks(),
        },
    )


def schedule_edit(request, pk: int | None = None):
    schedule = get_object_or_404(Schedule, pk=pk) if pk else None
    initial = None if schedule else {"days": list(range(7)), "enabled": True}
    form = ScheduleForm(request.POST or None, instance=schedule, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if schedule is None:
                services.create_schedule(**form.rhythm(), enabled=data["enabled"], **form.profile())
                messages.success(request, "Schedule added.")
            else:
                services.update_schedule(schedule, **form.rhythm(), enabled=data["enabled"], **form.profile())
                messages.success(request, "Schedule saved.")
            return redirect("schedules")
        except ValidationError as refused:  # the service's own limits (the form checked the fields)
            form.add_error(None, refused.messages)
    return render(request, "schedules/edit.html", {"form": form, "schedule": schedule, "server_tz": settings.TIME_ZONE})


@require_POST
def schedule_run_now(request, pk: int):
    schedule = get_object_or_404(Schedule, pk=pk)
    try:
        run = services.run_now(schedule)
    except RunRefused as refusal:
        messages.error(request, str(refusal))
        return redirect("schedules")
    messages.success(request, services.started_message(run, schedule))
    return redirect("run", pk=run.pk)


@require_POST
def schedule_delete(request, pk: int):
    services.delete_schedule(get_object_or_404(Schedule, pk=pk))
    messages.success(request, "Schedule deleted.")
    return redirect("schedules")


@require_POST
def schedules_clear(request):
    count = services.clear_all()
    messages.success(request, f"Deleted {count} schedule(s).")
    return redirect("schedules")


@require_POST
def schedules_toggle(request):
    enabled = request.POST.get("enabled") == "1"
    services.set_global_enabled(enabled)
    messages.success(request, "Schedules are on." if enabled else "Schedules are off: nothing runs automatically.")
    return redirect("schedules")
