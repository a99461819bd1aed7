"""Addons and Catalogs pages: server-rendered shells; page scripts talk to the JSON API."""

from django.shortcuts import render

from addons.models import Addon, AddonRole
from addons.services import catalog_addons, selection_queryset
from prefetch.web.addon_serializers import AddonSerializer, CatalogSerializer


def addons_page(request):
    return render(
        request,
        "addons/addons.html",
        {
            "addons_data": AddonSerializer(Addon.objects.select_related("health"), many=True).data,
            "groups": [(AddonRole.BOTH, "Both", "Catalogs and streams"),
                       (AddonRole.CATALOG, "Catalog only", "Lists what to prefetch"),
                       (AddonRole.STREAM, "Stream only", "Gets warmed")],
        },
    )


def catalogs_page(request):
    return render(
        request,
        "catalogs/catalogs.html",
        {
            "catalogs_data": CatalogSerializer(selection_queryset(), many=True).data,
            "has_catalog_addons": catalog_addons().exists(),
        },
    )
