"""JSON API for addons and catalogs (paths of the original tool where it had them)."""

from collections.abc import Callable

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from addons import health, services
from addons.health import HealthChange
from addons.manifest import addon_fingerprint
from addons.models import Addon
from addons.redaction import redact_url
from addons.web.api_conventions import ok
from addons.web.serializers import (
    AddonCreateSerializer,
    AddonReorderSerializer,
    AddonSerializer,
    AddonUpdateSerializer,
    CatalogLoadSerializer,
    CatalogSelectionSerializer,
    CatalogSerializer,
    ManifestCheckSerializer,
    ManifestInfoSerializer,
    every_addon,
)


def refusal(error: services.AddonError) -> serializers.ValidationError:
    return serializers.ValidationError({error.field: [str(error)]})


class AddonAPIView(APIView):
    # What the addon endpoints need from the apps above: given by the site's URLconf through
    # `addon_urlpatterns` (as `as_view` arguments, which must be attributes of the class: hence the
    # Nones). Comments, not a docstring: the API docs would show it as every endpoint's description.
    proxy: Callable[[], str | None] = None  # the HTTP proxy requests to addons go through, or None
    # What a change of the catalog selection is told during a run (the running run keeps its own), or None.
    selection_note: Callable[[], str | None] = None
    # Tells of the addons that went down or came back at a probe (the notifications beat's probe sends).
    notify_health_changes: Callable[[list[HealthChange]], None] = None

    def note_field(self) -> dict:
        """`{"note": …}` during a run, else nothing."""
        note = self.selection_note()
        return {"note": note} if note else {}


AddonList = inline_serializer("AddonList", {"success": serializers.BooleanField(), "addons": AddonSerializer(many=True)})
AddonOne = inline_serializer("AddonOne", {"success": serializers.BooleanField(), "addon": AddonSerializer()})
AddonAdded = inline_serializer("AddonAdded", {
    "success": serializers.BooleanField(), "addon": AddonSerializer(),
    "warning": serializers.CharField(help_text="Set when the same addon (manifest id) is configured under another URL."),
})
Done = inline_serializer("Done", {"success": serializers.BooleanField()})
Revealed = inline_serializer("Revealed", {"success": serializers.BooleanField(), "url": serializers.CharField()})
CatalogList = inline_serializer(
    "CatalogList", {"success": serializers.BooleanField(), "catalogs": CatalogSerializer(many=True),
                    "note": serializers.CharField(required=False, help_text="During a run: which run the change applies to.")}
)


class AddonListView(AddonAPIView):
    @extend_schema(responses=AddonList, summary="List addons (URLs redacted)", operation_id="addons_list")
    def get(self, request):
        return Response(ok(addons=every_addon()))

    @extend_schema(request=AddonCreateSerializer, responses={201: AddonAdded}, summary="Add an addon")
    def post(self, request):
        given = AddonCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            addon = services.add_addon(given.validated_data["url"], given.validated_data["type"],
                                       display_name=given.validated_data.get("display_name"), proxy=self.proxy())
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(ok(addon=AddonSerializer(addon).data, warning=services.same_manifest_warning(addon)),
                        status=status.HTTP_201_CREATED)


class AddonDetailView(AddonAPIView):
    @extend_schema(responses=AddonOne, summary="One addon")
    def get(self, request, pk: int):
        return Response(ok(addon=AddonSerializer(get_object_or_404(Addon, pk=pk)).data))

    @extend_schema(request=AddonUpdateSerializer, responses=AddonOne, summary="Edit an addon (a new URL is validated)")
    def patch(self, request, pk: int):
        addon = get_object_or_404(Addon, pk=pk)
        given = AddonUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            changes = {"display_name": data["display_name"]} if "display_name" in data else {}
            services.update_addon(addon, raw_url=data.get("url"), role=data.get("type"), enabled=data.get("enabled"),
                                  proxy=self.proxy(), **changes)
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(ok(addon=AddonSerializer(addon).data))

    @extend_schema(request=None, responses={200: Done}, summary="Delete an addon and its catalogs")
    def delete(self, request, pk: int):
        services.delete_addon(get_object_or_404(Addon, pk=pk))
        return Response(ok())


class AddonRefreshView(AddonAPIView):
    @extend_schema(request=None, responses=AddonOne, summary="Fetch the addon's manifest again")
    def post(self, request, pk: int):
        addon = get_object_or_404(Addon, pk=pk)
        try:
            services.refresh_addon(addon, self.proxy())
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(ok(addon=AddonSerializer(addon).data))


class AddonHealthCheckView(AddonAPIView):
    @extend_schema(request=None, responses=AddonList, summary="Check every enabled addon's health now",
                   description="Fetches every enabled addon's manifest now, as beat's probe does every "
                               "ADDON_HEALTH_INTERVAL_S (an addon that went down or came back is notified), "
                               "and answers every addon with its fresh `health`.")
    def post(self, request):
        # No transaction around it: the probe waits for the addons first and writes afterwards.
        self.notify_health_changes(health.probe_all(self.proxy()))
        return Response(ok(addons=every_addon()))


class AddonRevealView(AddonAPIView):
    @extend_schema(request=None, responses=Revealed, summary="The full, unredacted URL (deliberate action)")
    def post(self, request, pk: int):
        return Response(ok(url=get_object_or_404(Addon, pk=pk).url))


class AddonReorderView(AddonAPIView):
    @extend_schema(request=AddonReorderSerializer, responses=AddonList, summary="Move addons between groups / reorder")
    def post(self, request):
        given = AddonReorderSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.reorder_addons(given.validated_data["groups"])
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(ok(addons=every_addon()))


class AddonManifestView(AddonAPIView):
    @extend_schema(request=ManifestCheckSerializer, responses=ManifestInfoSerializer,
                   summary="Preview an addon's manifest without saving it")
    def post(self, request):
        given = ManifestCheckSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            url, manifest = services.preview(given.validated_data["url"], self.proxy())
        except services.AddonError as error:
            raise refusal(error) from None
        summary = manifest.summary()
        duplicate = services.duplicate_message(url)
        return Response(
            ok(
                name=summary["name"], logo=summary["logo"], version=summary["version"], url=redact_url(url),
                types=summary["types"], catalogs=len(summary["catalogs"]), resources=manifest.resource_names(),
                fingerprint=addon_fingerprint(url), duplicate=bool(duplicate), duplicate_message=duplicate,
            )
        )


class CatalogLoadView(AddonAPIView):
    @extend_schema(request=None, responses=CatalogLoadSerializer, summary="Load catalogs from all catalog addons (merge)")
    def post(self, request):
        if not services.catalog_addons().exists():
            raise serializers.ValidationError({"addons": ["Add a catalog addon (Both or Catalog only) first."]})
        result = services.load_catalogs(self.proxy())
        result["catalogs"] = CatalogSerializer(result["catalogs"], many=True).data
        return Response(ok(**result, **self.note_field()))


class CatalogSelectionView(AddonAPIView):
    @extend_schema(responses=CatalogList, summary="Saved catalog selection, in the engine's order")
    def get(self, request):
        return Response(ok(catalogs=CatalogSerializer(services.selection_queryset(), many=True).data))

    @extend_schema(request=CatalogSelectionSerializer, responses=CatalogList, summary="Save order / enabled / extras")
    def post(self, request):
        given = CatalogSelectionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.save_selection(given.validated_data["catalogs"])
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(ok(catalogs=CatalogSerializer(services.selection_queryset(), many=True).data, **self.note_field()))
