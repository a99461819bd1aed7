"""Addons and Catalogs pages: server-rendered shells; page scripts talk to the JSON API."""

from django.shortcuts import render

from addons.models import AddonRole
from addons.services import catalog_addons, selection_queryset
from addons.web.serializers import CatalogSerializer, every_addon


def addons_page(request):
    return render(
        request,
        "addons/addons.html",
        {
            "addons_data": every_addon(),
            "groups": [(AddonRole.BOTH, "Both", "Catalogs and streams"),
                       (AddonRole.CATALOG, "Catalog only", "Lists what to prefetch"),
                       (AddonRole.STREAM, "Stream only", "Gets warmed")],
        },
    )


def catalogs_page(request):
    # A catalog addon whose manifest lists catalogs none of which were loaded yet (just added): the
    # page loads them at once instead of waiting for a click on "Load catalogs".
    unloaded = any(addon.manifest.get("catalogs") for addon in catalog_addons().filter(catalog_set__isnull=True))
    return render(
        request,
        "catalogs/catalogs.html",
        {
            "catalogs_data": CatalogSerializer(selection_queryset(), many=True).data,
            "has_catalog_addons": catalog_addons().exists(),
            "load_at_once": unloaded,
        },
    )
