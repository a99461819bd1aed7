"""URLs of the configuration pages and API (Settings, /api/config*) and the API schema + docs."""

from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_replace, csp_update
from django.contrib.auth.decorators import login_required
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from prefetch.web import config_api, settings_pages
from prefetch.web.api_conventions import api_view


def docs_page(view):
    return csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(login_required(view))


urlpatterns = [
    path("settings/", settings_pages.settings_page, name="settings"),
    path("settings/token/", settings_pages.regenerate_token, name="settings-token"),
    path("api/config", api_view(config_api.ConfigView), name="api-config"),
    path("api/schema", SpectacularAPIView.as_view(permission_classes=[IsAuthenticated]), name="api-schema"),
    # The docs pages are pages (DRF views skip LoginRequiredMiddleware): sign in first, then they
    # fetch the schema with the session. Swagger UI's start script is a file of its own (split view);
    # both UIs style their elements inline, and Redoc searches in a worker made from a blob, so
    # these two pages alone allow inline style and blob workers.
    path(
        "api/docs",
        docs_page(SpectacularSwaggerSplitView.as_view(url_name="api-schema", template_name="api/swagger.html")),
        name="api-docs",
    ),
    path(
        "api/redoc",
        # Redoc's menu always shows a logo from its vendor's CDN: images only from here, so no
        # request leaves (Redoc hides the logo when it does not load).
        csp_replace({"img-src": [SELF, "data:"]})(
            docs_page(SpectacularRedocView.as_view(url_name="api-schema", template_name="api/redoc.html"))
        ),
        name="api-redoc",
    ),
]
