from collections.abc import Callable

from django.urls import path

from addons.health import HealthChange
from addons.web import api, pages
from addons.web.api_conventions import api_view


def addon_urlpatterns(*, proxy: Callable[[], str | None], selection_note: Callable[[], str | None],
                      notify_health_changes: Callable[[list[HealthChange]], None]) -> list:
    """The Addons and Catalogs pages and their API. The site's URLconf passes what the API needs from
    the apps above (see `api.AddonAPIView`): this app imports none of them."""

    def endpoint(view_class):
        return api_view(view_class, proxy=proxy, selection_note=selection_note,
                        notify_health_changes=notify_health_changes)

    return [
        path("addons/", pages.addons_page, name="addons"),
        path("catalogs/", pages.catalogs_page, name="catalogs"),
        path("api/addons", endpoint(api.AddonListView), name="api-addons"),
        path("api/addons/reorder", endpoint(api.AddonReorderView), name="api-addons-reorder"),
        path("api/addons/health/check", endpoint(api.AddonHealthCheckView), name="api-addons-health-check"),
        path("api/addons/<int:pk>", endpoint(api.AddonDetailView), name="api-addon"),
        path("api/addons/<int:pk>/refresh", endpoint(api.AddonRefreshView), name="api-addon-refresh"),
        path("api/addons/<int:pk>/reveal", endpoint(api.AddonRevealView), name="api-addon-reveal"),
        path("api/addon/manifest", endpoint(api.AddonManifestView), name="api-addon-manifest"),
        path("api/catalogs/load", endpoint(api.CatalogLoadView), name="api-catalogs-load"),
        path("api/catalogs/selection", endpoint(api.CatalogSelectionView), name="api-catalogs-selection"),
    ]
