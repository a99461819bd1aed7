from rest_framework import serializers

from prefetch.web.api_conventions import StrictSerializer

from .services import next_occurrence


class ScheduleEntrySerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], help_text="HH:MM, server time zone.")
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), min_length=1, max_length=7,
        help_text="0 = Sunday … 6 = Saturday.",
    )
    enabled = serializers.BooleanField(default=True)
    next_run = serializers.SerializerMethodField()

    def get_next_run(self, schedule) -> str | None:
        when = next_occurrence(schedule) if getattr(schedule, "pk", None) else None
        return when.isoformat() if when else None

    def validate_days(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("A day is listed twice.")
        return sorted(value)


class ScheduleStateSerializer(serializers.Serializer):
    enabled = serializers.BooleanField()
    schedules = ScheduleEntrySerializer(many=True)


class ScheduleResponseSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    schedule = ScheduleStateSerializer()
    timezone = serializers.CharField()
    next_run_time = serializers.DateTimeField(allow_null=True)


class ScheduleUpdateSerializer(StrictSerializer):
    enabled = serializers.BooleanField(required=False, help_text="Global switch for all schedules.")
    schedules = ScheduleEntrySerializer(many=True, required=False, help_text="Replaces all schedules when given.")
