from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

from prefetch import ops_views
from prefetch.accounts import first_run

urlpatterns = [
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
