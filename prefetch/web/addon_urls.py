from django.urls import path

from prefetch.web import addon_api as api
from prefetch.web import addon_pages as views
from prefetch.web.api_conventions import api_view

urlpatterns = [
    path("addons/", views.addons_page, name="addons"),
    path("catalogs/", views.catalogs_page, name="catalogs"),
    path("api/addons", api_view(api.AddonListView), name="api-addons"),
    path("api/addons/reorder", api_view(api.AddonReorderView), name="api-addons-reorder"),
    path("api/addons/<int:pk>", api_view(api.AddonDetailView), name="api-addon"),
    path("api/addons/<int:pk>/refresh", api_view(api.AddonRefreshView), name="api-addon-refresh"),
    path("api/addons/<int:pk>/reveal", api_view(api.AddonRevealView), name="api-addon-reveal"),
    path("api/addon/manifest", api_view(api.AddonManifestView), name="api-addon-manifest"),
    path("api/catalogs/load", api_view(api.CatalogLoadView), name="api-catalogs-load"),
    path("api/catalogs/selection", api_view(api.CatalogSelectionView), name="api-catalogs-selection"),
]
