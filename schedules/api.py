from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from addons.web.api_conventions import by_token, ok, refused
from prefetch.models import RunTrigger
from prefetch.progress import run_payload
from prefetch.runs.lifecycle import RunActive, RunRefused

from . import services
from .models import Schedule, SchedulingSettings
from .serializers import ScheduleEntrySerializer, ScheduleResponseSerializer, ScheduleUpdateSerializer


def schedule_state() -> dict:
    next_run = services.next_run_time()
    return {
        "success": True,
        "schedule": {
            "enabled": SchedulingSettings.load().enabled,
            "schedules": ScheduleEntrySerializer(services.with_last_runs(), many=True).data,
        },
        "timezone": settings.TIME_ZONE,
        "next_run_time": next_run.isoformat() if next_run else None,
    }


class ScheduleView(APIView):
    @extend_schema(responses=ScheduleResponseSerializer, summary="Schedules and the global switch")
    def get(self, request):
        return Response(schedule_state())

    @extend_schema(
        request=ScheduleUpdateSerializer, responses=ScheduleResponseSerializer,
        summary="Set the global switch and/or replace all schedules",
    )
    def post(self, request):
        given = ScheduleUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        if "schedules" in data:
            services.replace_all([dict(entry) for entry in data["schedules"]])
        if "enabled" in data:
            services.set_global_enabled(data["enabled"])
        return Response(schedule_state())

    @extend_schema(request=None, responses={200: ScheduleResponseSerializer}, summary="Delete all schedules and switch off")
    def delete(self, request):
        services.clear_all()
        services.set_global_enabled(False)
        return Response(schedule_state())


RunStarted = inline_serializer("ScheduleRunStarted", {
    "success": serializers.BooleanField(),
    "message": serializers.CharField(),
    "run": inline_serializer("StartedRun", {
        "id": serializers.IntegerField(), "status": serializers.CharField(help_text="queued"),
        "trigger": serializers.CharField(help_text="manual (a session) or api (a token)"),
        "url": serializers.CharField(help_text="Its run page."),
    }, help_text="The run as /api/job/status shows it; follow it there, or at /api/runs/<id>."),
})


class ScheduleRunView(APIView):
    @extend_schema(request=None, responses=RunStarted, summary="Run now with the schedule's profile",
                   description="As the Schedules page's *Run now*: a run with the schedule's profile, counted as "
                               "its run. 400 with the reason (and where to fix it) when the configuration cannot run, "
                               "409 while a run is active, 404 for an unknown schedule id.")
    def post(self, request, pk: int):
        schedule = get_object_or_404(Schedule, pk=pk)
        try:
            run = services.run_now(schedule, RunTrigger.API if by_token(request) else RunTrigger.MANUAL)
        except RunActive as refusal:
            return refused(str(refusal), status.HTTP_409_CONFLICT)
        except RunRefused as refusal:  # the configuration it would run cannot: where to put it right
            return refused(str(refusal), fix=refusal.fix)
        return Response(ok(message=services.started_message(run, schedule), run=run_payload(run)))


class TimezoneView(APIView):
    @extend_schema(
        responses=inline_serializer("Timezone", {"success": serializers.BooleanField(), "timezone": serializers.CharField()}),
        summary="The server's time zone (TZ)",
    )
    def get(self, request):
        return Response({"success": True, "timezone": settings.TIME_ZONE})
