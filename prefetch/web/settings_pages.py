"""Settings page: the engine parameters and the user's API token."""

from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST
from rest_framework.authtoken.models import Token

from prefetch.models import PrefetchSettings
from prefetch.runs.active import ConfigLocked, active_run
from prefetch.settings_changes import save_settings
from prefetch.web.forms import SettingsForm


def _token(user) -> Token:
    token, _ = Token.objects.get_or_create(user=user)
    return token


def settings_page(request):
    row = PrefetchSettings.load()
    form = SettingsForm(request.POST or None, instance=row)
    run = active_run()
    if request.method == "POST":
        if form.is_valid():
            try:
                save_settings(form.instance)
            except ConfigLocked as locked:
                form.add_error(None, f"{locked} Nothing was saved.")
            else:
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
def regenerate_token(request):
    Token.objects.filter(user=request.user).delete()
    _token(request.user)
    messages.success(request, "A new API token was created; the old one no longer works.")
    return redirect("/settings/#api-token")
