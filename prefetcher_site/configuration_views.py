"""Reset to defaults, as a page action and in the API: it clears every app's configuration."""

from django.contrib import messages
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from prefetch.runs.active import ConfigLocked
from prefetch.web.config_api import ConfigResponse, Conflict, config_body

from .configuration import reset_configuration


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


class ConfigResetView(APIView):
    @extend_schema(request=None, responses=ConfigResponse, summary="Reset to defaults (keeps prefetch records)")
    def post(self, request):
        try:
            reset_configuration()
        except ConfigLocked as locked:
            raise Conflict(str(locked)) from None
        return Response(config_body())
