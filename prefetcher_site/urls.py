from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from addons.web.api_conventions import api_view
from addons.web.urls import addon_urlpatterns
from prefetch.models import addon_proxy
from prefetch.notifications import notify_health_changes
from prefetch.runs.active import catalog_change_note

from . import configuration_views, dashboard, ops
from .accounts import first_run

admin.site.site_header = "Streams Prefetcher administration"
admin.site.site_title = "Streams Prefetcher admin"
admin.site.index_title = "Data behind the app (configure it on the app's own pages)"

urlpatterns = [
    # Browsers ask for it on pages without an icon link (the admin's): the app's icon, for anyone.
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)), name="favicon"),
    path("", dashboard.dashboard, name="dashboard"),
    path("admin/", admin.site.urls),
    path("api/health", ops.health, name="health"),
    path("metrics", ops.metrics, name="metrics"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", first_run, name="first-run"),
    path("settings/reset/", configuration_views.reset_view, name="settings-reset"),
    path("api/config/reset", api_view(configuration_views.ConfigResetView), name="api-config-reset"),
    path("", include("prefetch.web.urls")),
    path("", include("prefetch.web.config_urls")),
    path("", include(addon_urlpatterns(proxy=addon_proxy, selection_note=catalog_change_note,
                                       notify_health_changes=notify_health_changes))),
    path("", include("schedules.urls")),
    path("", include("prefetch.follow.urls")),
]
