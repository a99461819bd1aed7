from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import api, views


def _api(view):
    # DRF answers 401/403 itself (session or token auth): the login redirect is for pages only.
    return login_not_required(view.as_view())


urlpatterns = [
    path("addons/", views.addons_page, name="addons"),
    path("catalogs/", views.catalogs_page, name="catalogs"),
    path("api/addons", _api(api.AddonListView), name="api-addons"),
    path("api/addons/reorder", _api(api.AddonReorderView), name="api-addons-reorder"),
    path("api/addons/<int:pk>", _api(api.AddonDetailView), name="api-addon"),
    path("api/addons/<int:pk>/refresh", _api(api.AddonRefreshView), name="api-addon-refresh"),
    path("api/addons/<int:pk>/reveal", _api(api.AddonRevealView), name="api-addon-reveal"),
    path("api/addon/manifest", _api(api.AddonManifestView), name="api-addon-manifest"),
    path("api/catalogs/load", _api(api.CatalogLoadView), name="api-catalogs-load"),
    path("api/catalogs/selection", _api(api.CatalogSelectionView), name="api-catalogs-selection"),
]
