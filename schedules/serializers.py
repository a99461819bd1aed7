from rest_framework import serializers

from prefetch.web.api_conventions import MAX_INT, IdField, StrictSerializer

from .services import next_occurrence

MAX_PROFILE_CATALOGS = 1000  # a bound on the list, as on every list the API takes; ids are checked against the selection


class LimitField(serializers.IntegerField):
    """A profile's limit: -1 = unlimited, null = as in the settings."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, min_value=-1, max_value=MAX_INT,
                         help_text="-1 = unlimited; null = as in the settings.", **kwargs)


class ScheduleEntrySerializer(StrictSerializer):
    id = serializers.IntegerField(read_only=True)
    time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], help_text="HH:MM, server time zone.")
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), min_length=1, max_length=7,
        help_text="0 = Sunday … 6 = Saturday.",
    )
    enabled = serializers.BooleanField(default=True)
    next_run = serializers.SerializerMethodField()
    # The profile: what this schedule's runs override (null / empty / false = as in the settings).
    movies_global_limit = LimitField()
    series_global_limit = LimitField()
    movies_per_catalog = LimitField()
    series_per_catalog = LimitField()
    items_per_mixed_catalog = LimitField()
    catalog_ids = serializers.ListField(
        child=IdField(), required=False, max_length=MAX_PROFILE_CATALOGS,
        help_text="A subset of the selected catalogs (ids from /api/catalogs/selection); empty = all.",
    )
    cache_validity_s = serializers.IntegerField(
        required=False, allow_null=True, min_value=-1, max_value=MAX_INT,
        help_text="Seconds; -1 = never expires, 0 = always request again; null = as in the settings.",
    )
    cache_validity_auto = serializers.BooleanField(
        required=False, allow_null=True, help_text="Follow each answer's Cache-Control max-age; null = as in the settings.",
    )
    new_episodes_only = serializers.BooleanField(
        required=False, default=False, help_text="Only episodes released since this schedule's last successful run.",
    )
    profile = serializers.CharField(source="profile_label", read_only=True, help_text="The profile in words.")

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
