"""JSON API for addons and catalogs (paths of the original tool where it had them)."""

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView

from addons import services
from addons.manifest import addon_fingerprint
from addons.models import Addon
from addons.redaction import redact_url
from prefetch.models import addon_proxy
from prefetch.web.addon_serializers import (
    AddonCreateSerializer,
    AddonReorderSerializer,
    AddonSerializer,
    AddonUpdateSerializer,
    CatalogLoadSerializer,
    CatalogSelectionSerializer,
    CatalogSerializer,
    ManifestCheckSerializer,
    ManifestInfoSerializer,
)


def refusal(error: services.AddonError) -> serializers.ValidationError:
    return serializers.ValidationError({error.field: [str(error)]})


def _ok(**body):
    return {"success": True, **body}


def _selection_note() -> dict:
    """A catalog change during a run: say which run it applies to (the running one keeps its plan)."""
    from prefetch.runs.active import active_run

    run = active_run()
    return {"note": f"Run #{run.pk} keeps the catalogs it started with; this applies from the next run."} if run else {}


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


class AddonListView(APIView):
    @extend_schema(responses=AddonList, summary="List addons (URLs redacted)", operation_id="addons_list")
    def get(self, request):
        return Response(_ok(addons=AddonSerializer(Addon.objects.select_related("health"), many=True).data))

    @extend_schema(request=AddonCreateSerializer, responses={201: AddonAdded}, summary="Add an addon")
    def post(self, request):
        given = AddonCreateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            addon = services.add_addon(given.validated_data["url"], given.validated_data["type"],
                                       display_name=given.validated_data.get("display_name"), proxy=addon_proxy())
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(_ok(addon=AddonSerializer(addon).data, warning=services.same_manifest_warning(addon)),
                        status=status.HTTP_201_CREATED)


class AddonDetailView(APIView):
    @extend_schema(responses=AddonOne, summary="One addon")
    def get(self, request, pk: int):
        return Response(_ok(addon=AddonSerializer(get_object_or_404(Addon, pk=pk)).data))

    @extend_schema(request=AddonUpdateSerializer, responses=AddonOne, summary="Edit an addon (a new URL is validated)")
    def patch(self, request, pk: int):
        addon = get_object_or_404(Addon, pk=pk)
        given = AddonUpdateSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        data = given.validated_data
        try:
            changes = {"display_name": data["display_name"]} if "display_name" in data else {}
            services.update_addon(addon, raw_url=data.get("url"), role=data.get("type"), enabled=data.get("enabled"),
                                  proxy=addon_proxy(), **changes)
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(_ok(addon=AddonSerializer(addon).data))

    @extend_schema(request=None, responses={200: Done}, summary="Delete an addon and its catalogs")
    def delete(self, request, pk: int):
        services.delete_addon(get_object_or_404(Addon, pk=pk))
        return Response(_ok())


class AddonRefreshView(APIView):
    @extend_schema(request=None, responses=AddonOne, summary="Fetch the addon's manifest again")
    def post(self, request, pk: int):
        addon = get_object_or_404(Addon, pk=pk)
        try:
            services.refresh_addon(addon, addon_proxy())
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(_ok(addon=AddonSerializer(addon).data))


class AddonRevealView(APIView):
    @extend_schema(request=None, responses=Revealed, summary="The full, unredacted URL (deliberate action)")
    def post(self, request, pk: int):
        return Response(_ok(url=get_object_or_404(Addon, pk=pk).url))


class AddonReorderView(APIView):
    @extend_schema(request=AddonReorderSerializer, responses=AddonList, summary="Move addons between groups / reorder")
    def post(self, request):
        given = AddonReorderSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.reorder_addons(given.validated_data["groups"])
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(_ok(addons=AddonSerializer(Addon.objects.select_related("health"), many=True).data))


class AddonManifestView(APIView):
    @extend_schema(request=ManifestCheckSerializer, responses=ManifestInfoSerializer,
                   summary="Preview an addon's manifest without saving it")
    def post(self, request):
        given = ManifestCheckSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            url, manifest = services.preview(given.validated_data["url"], addon_proxy())
        except services.AddonError as error:
            raise refusal(error) from None
        summary = manifest.summary()
        duplicate = services.duplicate_message(url)
        return Response(
            _ok(
                name=summary["name"], logo=summary["logo"], version=summary["version"], url=redact_url(url),
                types=summary["types"], catalogs=len(summary["catalogs"]), resources=manifest.resource_names(),
                fingerprint=addon_fingerprint(url), duplicate=bool(duplicate), duplicate_message=duplicate,
            )
        )


class CatalogLoadView(APIView):
    @extend_schema(request=None, responses=CatalogLoadSerializer, summary="Load catalogs from all catalog addons (merge)")
    def post(self, request):
        if not services.catalog_addons().exists():
            raise serializers.ValidationError({"addons": ["Add a catalog addon (Both or Catalog only) first."]})
        result = services.load_catalogs(addon_proxy())
        result["catalogs"] = CatalogSerializer(result["catalogs"], many=True).data
        return Response(_ok(**result, **_selection_note()))


class CatalogSelectionView(APIView):
    @extend_schema(responses=CatalogList, summary="Saved catalog selection, in the engine's order")
    def get(self, request):
        return Response(_ok(catalogs=CatalogSerializer(services.selection_queryset(), many=True).data))

    @extend_schema(request=CatalogSelectionSerializer, responses=CatalogList, summary="Save order / enabled / extras")
    def post(self, request):
        given = CatalogSelectionSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            services.save_selection(given.validated_data["catalogs"])
        except services.AddonError as error:
            raise refusal(error) from None
        return Response(_ok(catalogs=CatalogSerializer(services.selection_queryset(), many=True).data, **_selection_note()))
