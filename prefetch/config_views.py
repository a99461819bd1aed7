"""Settings page: the engine parameters, reset to defaults and the user's API token."""

import logging

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from addons.models import Addon
from schedules import services as schedule_services
from schedules.models import SchedulingSettings

from .forms import SettingsForm
from .models import PrefetchSettings
from .runs import active_run

logger = logging.getLogger("prefetch.config")


class ConfigLocked(Exception):
    """Configuration cannot change now (a run is active); the message says why."""


def refuse_while_running(action: str = "Settings cannot change") -> None:
    run = active_run()
    if run is not None:
        raise ConfigLocked(
            f"{action} while run #{run.pk} is {run.get_status_display().lower()}. "
            "Wait for it to finish or cancel it on the Dashboard."
        )


def reset_configuration() -> dict:
    """Back to defaults: settings, addons (and their catalogs), schedules, log files.

    The prefetch records (the cache memory) and the run history are kept."""
    refuse_while_running("Reset is refused")
    with transaction.atomic():
        PrefetchSettings.objects.all().delete()
        PrefetchSettings.load()
        addons, _ = Addon.objects.all().delete()
        schedules = schedule_services.clear_all()
        SchedulingSettings.objects.all().delete()
        SchedulingSettings.load()
    logs = 0
    log_dir = settings.LOG_DIR
    if log_dir.is_dir():
        for path in log_dir.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                logs += 1
    logger.info("Configuration reset to defaults (%d log files deleted)", logs)
    return {"schedules": schedules, "log_files": logs}


def _token(user) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


def settings_page(request):
    row = PrefetchSettings.load()
    form = SettingsForm(request.POST or None, instance=row)
    run = active_run()
    if request.method == "POST":
        if run is not None:
            form.is_valid()
            form.add_error(None, f"Settings cannot change while run #{run.pk} is {run.status}. "
                                 "Wait for it to finish or cancel it on the Dashboard; nothing was saved.")
        elif form.is_valid():
            form.save()
            kept = form.kept_while_off
            messages.success(request, "Settings saved." + (
                f" Stream source cache requests are off, so the invalid {', '.join(kept)} kept the saved value."
                if kept else ""))
            return redirect("settings")
    return render(
        request,
        "settings/settings.html",
        {"form": form, "active": run, "token": _token(request.user), "log_dir": settings.LOG_DIR},
        status=400 if request.method == "POST" else 200,
    )


@require_POST
def reset_view(request):
    if request.POST.get("confirm", "").strip().lower() != "reset":
        messages.error(request, "Reset needs confirmation.")
        return redirect("settings")
    try:
        result = reset_configuration()
    except ConfigLocked as locked:
        messages.error(request, str(locked))
        return redirect("settings")
    messages.success(
        request,
        f"Everything is back to defaults: addons, catalogs, {result['schedules']} schedule(s) and "
        f"{result['log_files']} log file(s) removed. Prefetch records were kept.",
    )
    return redirect("settings")


@require_POST
def regenerate_token(request):
    Token.objects.filter(user=request.user).delete()
    _token(request.user)
    messages.success(request, "A new API token was created; the old one no longer works.")
    return redirect("/settings/#api-token")
