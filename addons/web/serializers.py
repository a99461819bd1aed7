"""JSON shapes of addons and catalogs. Addon URLs only ever leave the server redacted."""

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from addons.health import health_of
from addons.models import Addon, AddonRole, Catalog, HealthStatus
from addons.web.api_conventions import IdField, StrictSerializer

ROLE_CHOICES = AddonRole.values


class AddonHealthSerializer(serializers.Serializer):
    status = serializers.ChoiceField(choices=HealthStatus.values, help_text="ok, degraded, down, or unknown before the first check.")
    label = serializers.CharField(help_text="The status in words.")
    checked_at = serializers.DateTimeField(allow_null=True, help_text="The last probe or run that said it.")
    message = serializers.CharField(help_text='What is wrong, in plain words ("connection refused …"); empty when ok.')


class AddonSerializer(serializers.ModelSerializer):
    url = serializers.CharField(source="redacted_url", read_only=True, help_text="Redacted: secrets are masked.")
    type = serializers.CharField(source="role", read_only=True, help_text="both, catalog or stream.")
    types = serializers.SerializerMethodField()
    catalogs = serializers.SerializerMethodField()
    fingerprint = serializers.CharField(read_only=True, help_text="6 hex digits telling configurations apart; not secret.")
    label = serializers.CharField(read_only=True, help_text="How pages name the addon: display name · fingerprint.")
    title = serializers.CharField(read_only=True, help_text="The display name, else the manifest's name.")
    health = serializers.SerializerMethodField()

    class Meta:
        model = Addon
        fields = ["id", "url", "type", "name", "display_name", "title", "fingerprint", "label", "logo", "version",
                  "enabled", "position", "fetched_at", "types", "catalogs", "health"]
        read_only_fields = fields

    def get_types(self, addon) -> list[str]:
        return list(addon.manifest.get("types") or [])

    def get_catalogs(self, addon) -> int:
        return len(addon.manifest.get("catalogs") or [])

    @extend_schema_field(AddonHealthSerializer)
    def get_health(self, addon) -> dict:
        return health_of(addon)


def every_addon() -> list[dict]:
    """Every addon as the pages and the API show it, in its order (health read in the same query)."""
    return AddonSerializer(Addon.objects.select_related("health"), many=True).data


DISPLAY_NAME_HELP = "Your name for this configuration; blank or null for the manifest's name."


class AddonCreateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=2000, help_text="Pasted URL; normalised to …/manifest.json.")
    type = serializers.ChoiceField(choices=ROLE_CHOICES, default=AddonRole.BOTH)
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True,
                                         help_text=DISPLAY_NAME_HELP)


class AddonUpdateSerializer(StrictSerializer):
    url = serializers.CharField(max_length=2000, required=False)
    type = serializers.ChoiceField(choices=ROLE_CHOICES, required=False)
    enabled = serializers.BooleanField(required=False)
    display_name = serializers.CharField(max_length=200, required=False, allow_blank=True, allow_null=True,
                                         help_text=DISPLAY_NAME_HELP)


class AddonReorderSerializer(StrictSerializer):
    groups = serializers.DictField(
        child=serializers.ListField(child=IdField(), max_length=1000),
        help_text='{"both": [ids…], "catalog": [ids…], "stream": [ids…]}',
    )

    def validate_groups(self, value):
        bad = sorted(set(value) - set(ROLE_CHOICES))
        if bad:
            raise serializers.ValidationError(f"Unknown group(s): {', '.join(bad)}.")
        return value


class ManifestCheckSerializer(StrictSerializer):
    url = serializers.CharField(max_length=2000)


class ManifestInfoSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    name = serializers.CharField()
    logo = serializers.CharField()
    version = serializers.CharField()
    url = serializers.CharField(help_text="The normalised URL, redacted.")
    types = serializers.ListField(child=serializers.CharField())
    catalogs = serializers.IntegerField()
    resources = serializers.ListField(child=serializers.CharField())
    fingerprint = serializers.CharField(help_text="What the addon will be told apart by once saved.")
    duplicate = serializers.BooleanField(help_text="This configuration is already saved.")
    duplicate_message = serializers.CharField(help_text="Where it is saved (its group), or empty.")


class CatalogSerializer(serializers.ModelSerializer):
    catalog_id = serializers.CharField(read_only=True)
    type = serializers.CharField(source="content_type", read_only=True)
    kind = serializers.SerializerMethodField(help_text="movie, series or mixed (picks the per-catalog limit).")
    order = serializers.IntegerField(source="position", read_only=True)
    addon_id = serializers.IntegerField(read_only=True)
    addon_name = serializers.SerializerMethodField()
    search_only = serializers.BooleanField(read_only=True)
    unmet_extras = serializers.ListField(source="unmet_required_extras", child=serializers.CharField(), read_only=True)

    class Meta:
        model = Catalog
        fields = [
            "id", "catalog_id", "name", "type", "kind", "addon_id", "addon_name", "enabled", "order",
            "extras", "extra_values", "missing", "search_only", "unmet_extras",
        ]
        read_only_fields = fields

    def get_kind(self, catalog) -> str:
        return catalog.content_type if catalog.content_type in ("movie", "series") else "mixed"

    def get_addon_name(self, catalog) -> str:
        return catalog.addon.label


class CatalogEntrySerializer(StrictSerializer):
    id = IdField()
    enabled = serializers.BooleanField(required=False)
    extra_values = serializers.DictField(child=serializers.CharField(allow_blank=True, max_length=300), required=False)


class CatalogSelectionSerializer(StrictSerializer):
    catalogs = serializers.ListField(child=CatalogEntrySerializer(), max_length=5000)


class CatalogLoadErrorSerializer(serializers.Serializer):
    addon_id = serializers.IntegerField()
    addon_name = serializers.CharField()
    url = serializers.CharField()
    error = serializers.CharField()


class CatalogLoadSerializer(serializers.Serializer):
    success = serializers.BooleanField()
    catalogs = CatalogSerializer(many=True)
    errors = CatalogLoadErrorSerializer(many=True)
    total_addons = serializers.IntegerField()
    total_catalogs = serializers.IntegerField()
    added = serializers.IntegerField()
    missing = serializers.IntegerField()
    note = serializers.CharField(required=False, help_text="During a run: which run the change applies to.")
