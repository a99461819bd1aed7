"""URLs of the configuration pages and API (Settings, /api/config*) and the API schema + docs."""

from functools import cache
from pathlib import Path

from csp.constants import UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import HttpResponse
from django.urls import path, reverse
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView, SpectacularSwaggerSplitView
from rest_framework.permissions import IsAuthenticated

from addons.web.api_conventions import api_view
from prefetch.web import config_api, settings_pages


def docs_page(view):
    return csp_update({"style-src": [UNSAFE_INLINE], "worker-src": ["blob:"]})(login_required(view))


# Redoc's menu shows its vendor's logo, from the vendor's CDN, whatever its options say: the bundle is
# served with that address replaced by an empty image (which fails to load, and Redoc then hides the
# logo), so the page loads nothing from another host and breaks no rule of the page's policy.
REDOC_BUNDLE = "drf_spectacular_sidecar/redoc/bundles/redoc.standalone.js"
REDOC_VENDOR_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"


@cache
def _local_redoc_bundle() -> bytes:
    return Path(finders.find(REDOC_BUNDLE)).read_text(encoding="utf-8").replace(REDOC_VENDOR_LOGO, "data:,").encode()


def redoc_bundle(request):
    response = HttpResponse(_local_redoc_bundle(), content_type="text/javascript; charset=utf-8")
    response["Cache-Control"] = "private, max-age=86400"
    return response


class RedocView(SpectacularRedocView):
    @staticmethod
    def _redoc_standalone():
        return reverse("api-redoc-bundle")


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
        docs_page(RedocView.as_view(url_name="api-schema", template_name="api/redoc.html")),
        name="api-redoc",
    ),
    path("api/redoc/redoc.standalone.js", redoc_bundle, name="api-redoc-bundle"),
]
