from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from addons.web.api_conventions import MAX_INT, IdField, StrictSerializer

from .models import MAX_INTERVAL_S, MIN_INTERVAL_S, NO_DAYS, NO_RHYTHM, ONE_KIND, TOO_OFTEN, TOO_RARE
from .services import next_occurrence

MAX_PROFILE_CATALOGS = 1000  # a bound on the list, as on every list the API takes; ids are checked against the selection


class LimitField(serializers.IntegerField):
    """A profile's limit: -1 = unlimited, null = as in the settings."""

    def __init__(self, **kwargs):
        super().__init__(required=False, allow_null=True, min_value=-1, max_value=MAX_INT,
                         help_text="-1 = unlimited; null = as in the settings.", **kwargs)


class LastRunSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    status = serializers.CharField()
    started_at = serializers.DateTimeField(allow_null=True)
    finished_at = serializers.DateTimeField(allow_null=True)
    duration_s = serializers.FloatField(allow_null=True)


class ScheduleEntrySerializer(StrictSerializer):
    """A daily `time` on `days`, or an interval `every_s`."""

    id = serializers.IntegerField(read_only=True)
    time = serializers.TimeField(format="%H:%M", input_formats=["%H:%M"], required=False, allow_null=True,
                                 help_text="HH:MM, server time zone, with days; null for an interval.")
    days = serializers.ListField(
        child=serializers.IntegerField(min_value=0, max_value=6), required=False, max_length=7,
        help_text="0 = Sunday … 6 = Saturday; empty for an interval.",
    )
    every_s = serializers.IntegerField(
        required=False, allow_null=True, min_value=MIN_INTERVAL_S, max_value=MAX_INTERVAL_S,
        error_messages={"min_value": TOO_OFTEN, "max_value": TOO_RARE},
        help_text="Seconds between runs (at least 900), instead of a time and days.",
    )
    when = serializers.CharField(source="when_label", read_only=True,
                                 help_text='The rhythm in words: "every 6 h", "03:00 Mon, Wed".')
    enabled = serializers.BooleanField(default=True)
    next_run = serializers.SerializerMethodField()
    last_run = serializers.SerializerMethodField(help_text="Its latest run (a skipped firing included), or null.")
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

    @extend_schema_field(LastRunSerializer(allow_null=True))
    def get_last_run(self, schedule) -> dict | None:
        run = getattr(schedule, "last_run", None)  # set by services.with_last_runs
        return LastRunSerializer(run).data if run else None

    def validate_days(self, value):
        if len(set(value)) != len(value):
            raise serializers.ValidationError("A day is listed twice.")
        return sorted(value)

    def validate(self, data):
        if data.get("every_s") is not None:
            if data.get("time") is not None or data.get("days"):
                raise serializers.ValidationError({"every_s": [ONE_KIND]})
            return data
        if data.get("time") is None:
            raise serializers.ValidationError({"time": [NO_RHYTHM]})
        if not data.get("days"):
            raise serializers.ValidationError({"days": [NO_DAYS]})
        return data


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
