"""The Django admin lists every model and never shows secrets."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.utils import timezone

from addons.models import Addon, Catalog
from prefetch.models import PrefetchRecord, PrefetchSettings, Run

pytestmark = pytest.mark.django_db

SECRET_URL = "http://127.0.0.1:9/abcdefSECRETtoken1234567890/manifest.json"


def test_every_project_model_is_registered():
    for label in ("addons", "prefetch", "schedules"):
        for model in apps.get_app_config(label).get_models():
            assert admin.site.is_registered(model), model


def test_admin_pages_render_and_redact(admin_client):
    row = PrefetchSettings.load()
    row.proxy_url = "http://user:hunter2@proxy.local:8080"
    row.save()
    addon = Addon.objects.create(url=SECRET_URL, name="Secret addon")
    Catalog.objects.create(addon=addon, content_type="movie", catalog_id="top", name="Top")
    PrefetchRecord.objects.create(addon_key="k", content_type="movie", video_id="tt1", last_attempt=timezone.now())
    run = Run.objects.create(status="failed", error=f"boom at {SECRET_URL}")
    pages = [
        "/admin/addons/addon/", f"/admin/addons/addon/{addon.pk}/change/", "/admin/addons/catalog/",
        "/admin/prefetch/prefetchsettings/", f"/admin/prefetch/prefetchsettings/{row.pk}/change/",
        "/admin/prefetch/prefetchrecord/", "/admin/prefetch/run/", f"/admin/prefetch/run/{run.pk}/change/",
        "/admin/schedules/schedule/", "/admin/schedules/schedulingsettings/", "/admin/schedules/schedulerheartbeat/",
    ]
    for page in pages:
        response = admin_client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        assert "SECRETtoken" not in html and "hunter2" not in html, page
