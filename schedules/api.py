from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import services
from .models import SchedulingSettings
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


class TimezoneView(APIView):
    @extend_schema(
        responses=inline_serializer("Timezone", {"success": serializers.BooleanField(), "timezone": serializers.CharField()}),
        summary="The server's time zone (TZ)",
    )
    def get(self, request):
        return Response({"success": True, "timezone": settings.TIME_ZONE})
