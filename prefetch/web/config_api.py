"""JSON API for the engine configuration: /api/config."""

from drf_spectacular.utils import OpenApiExample, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from addons.web.api_conventions import StrictModelSerializer
from addons.web.serializers import AddonSerializer, every_addon
from prefetch.models import SECRET_URL_SETTINGS, PrefetchSettings
from prefetch.runs.active import ConfigLocked
from prefetch.settings_changes import save_settings
from prefetch.web import forms

# The original tool's key names, accepted on writes so that its scripts keep working.
ALIASES = {
    "delay": "delay_s",
    "network_request_timeout": "request_timeout_s",
    "cache_validity": "cache_validity_s",
    "max_execution_time": "max_execution_time_s",
    "proxy": "proxy_url",
    "randomize_catalog_processing": "randomize_catalogs",
    "randomize_item_prefetching": "randomize_items",
    "enable_logging": "logging_enabled",
}
READ_ONLY_KEYS = {"addon_urls": "Read-only here: manage addons with /api/addons."}


class Conflict(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_detail = "Not possible right now."


class ConfigSerializer(StrictModelSerializer):
    class Meta:
        model = PrefetchSettings
        exclude = ["id"]

    def get_fields(self):
        fields = super().get_fields()
        for field in fields.values():
            # Types only here: the rules are the model's, checked for every field at once by
            # save_settings (full_clean), as for the page, the admin and the import.
            field.validators = []
        return fields

    def validate_proxy_url(self, value):
        return forms.unmasked(value, self.instance.proxy_url)

    def validate_fallback_meta_url(self, value):
        return forms.unmasked(value, self.instance.fallback_meta_url)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in SECRET_URL_SETTINGS:
            data[name] = forms.masked(data[name])
        return data


class ConfigOutSerializer(ConfigSerializer):
    addon_urls = AddonSerializer(many=True, read_only=True, help_text="Read-only; URLs redacted.")

    class Meta(ConfigSerializer.Meta):
        pass


ConfigResponse = inline_serializer("ConfigResponse", {"success": serializers.BooleanField(), "config": ConfigOutSerializer()})


def config_body() -> dict:
    data = ConfigSerializer(PrefetchSettings.load()).data
    data["addon_urls"] = every_addon()
    return {"success": True, "config": data}


class ConfigView(APIView):
    @extend_schema(responses=ConfigResponse, summary="Engine settings (secrets redacted)")
    def get(self, request):
        return Response(config_body())

    @extend_schema(
        request=ConfigSerializer(partial=True), responses=ConfigResponse,
        summary="Update settings (partial; refused while a run is active)",
        examples=[OpenApiExample("Two limits", value={"movies_per_catalog": 100, "series_per_catalog": 5}, request_only=True)],
    )
    def post(self, request):
        return self._update(request)

    @extend_schema(request=ConfigSerializer(partial=True), responses=ConfigResponse, summary="Update settings (partial)")
    def patch(self, request):
        return self._update(request)

    def _update(self, request):
        data = request.data
        if not isinstance(data, dict) or not data:
            raise serializers.ValidationError({"non_field_errors": ["Send a JSON object with the settings to change."]})
        data = dict(data)
        for key, message in READ_ONLY_KEYS.items():
            if key in data:
                raise serializers.ValidationError({key: [message]})
        for old, new in ALIASES.items():
            if old in data:
                if new in data:
                    raise serializers.ValidationError({old: [f"Give either {old} or {new}, not both."]})
                data[new] = data.pop(old)
        row = PrefetchSettings.load()
        given = ConfigSerializer(row, data=data, partial=True)
        given.is_valid(raise_exception=True)
        for name, value in given.validated_data.items():
            setattr(row, name, value)
        try:
            save_settings(row)  # a model ValidationError is a 400 per field (api_conventions)
        except ConfigLocked as locked:
            raise Conflict(str(locked)) from None
        return Response(config_body())
