from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_not_required
from django.templatetags.static import static
from django.urls import include, path
from django.views.generic import RedirectView

from prefetch import ops_views
from prefetch.accounts import first_run

admin.site.site_header = "Streams Prefetcher administration"
admin.site.site_title = "Streams Prefetcher admin"
admin.site.index_title = "Data behind the app (configure it on the app's own pages)"

urlpatterns = [
    # Browsers ask for it on pages without an icon link (the admin's): the app's icon, for anyone.
    path("favicon.ico", login_not_required(RedirectView.as_view(url=static("favicon.svg"), permanent=True)), name="favicon"),
    path("admin/", admin.site.urls),
    path("api/health", ops_views.health, name="health"),
    path("metrics", ops_views.metrics, name="metrics"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("setup/", first_run, name="first-run"),
    path("", include("prefetch.urls")),
    path("", include("prefetch.config_urls")),
    path("", include("addons.urls")),
    path("", include("schedules.urls")),
]
