"""URLs of the configuration pages and API (Settings, /api/config*) and the API schema + docs."""

from django.contrib.auth.decorators import login_not_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerView

from . import config_api, config_views

urlpatterns = [
    path("settings/", config_views.settings_page, name="settings"),
    path("settings/reset/", config_views.reset_view, name="settings-reset"),
    path("settings/token/", config_views.regenerate_token, name="settings-token"),
    path("api/config", login_not_required(config_api.ConfigView.as_view()), name="api-config"),
    path("api/config/reset", login_not_required(config_api.ConfigResetView.as_view()), name="api-config-reset"),
    path("api/schema", login_not_required(SpectacularAPIView.as_view()), name="api-schema"),
    # The docs pages are pages: they need a signed-in user and fetch the schema with the session.
    path("api/docs", SpectacularSwaggerView.as_view(url_name="api-schema"), name="api-docs"),
    path("api/redoc", SpectacularRedocView.as_view(url_name="api-schema"), name="api-redoc"),
]
