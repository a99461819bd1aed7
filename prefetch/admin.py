from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect
from django.utils.html import format_html

from addons.admin import AddonAdmin
from addons.models import Addon
from addons.redaction import redact_text, redact_url

from .models import MetricTotal, PeriodicWork, PrefetchRecord, PrefetchSettings, Run, UpcomingRelease, addon_proxy
from .runs.active import ConfigLocked
from .settings_changes import save_settings


class PrefetchSettingsForm(forms.ModelForm):
    """The proxy field starts empty (the secret never enters the page): empty keeps the current
    proxy, “-” removes it, anything else replaces it; the result is validated like every setting."""

    def clean_proxy_url(self):
        typed = self.cleaned_data.get("proxy_url", "").strip()
        if typed == "-":
            return ""
        return typed or getattr(self.instance, "_real_proxy", "")


@admin.register(PrefetchSettings)
class PrefetchSettingsAdmin(admin.ModelAdmin):
    """One row. The proxy URL may hold credentials: shown redacted, replaced only when typed anew.
    Saved through prefetch.settings_changes.save_settings: refused while a run is active."""

    form = PrefetchSettingsForm
    list_display = ("__str__", "movies_per_catalog", "series_per_catalog", "delay_s", "max_execution_time_s", "redacted_proxy")
    readonly_fields = ("redacted_proxy",)

    @admin.display(description="HTTP proxy")
    def redacted_proxy(self, obj):
        return redact_url(obj.proxy_url) if obj.proxy_url else "–"

    def get_fields(self, request, obj=None):
        fields = [f.name for f in PrefetchSettings._meta.fields if f.name not in ("id", "proxy_url")]
        return ["redacted_proxy", "proxy_url", *fields]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        field = form.base_fields.get("proxy_url")
        if field is not None:
            field.help_text = "Leave empty to keep the current proxy; type a new URL to replace it; “-” removes it."
            field.required = False
        return form

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            obj._real_proxy = obj.proxy_url
            obj.proxy_url = ""  # never put the secret into the page
        return obj

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ConfigLocked as locked:  # raised by save_model: the admin's transaction rolled back
            self.message_user(request, f"{locked} Nothing was saved.", messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        save_settings(obj)

    def has_add_permission(self, request):
        return not PrefetchSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False  # back to defaults: Reset on the Settings page (refused while a run is active)


@admin.register(PrefetchRecord)
class PrefetchRecordAdmin(admin.ModelAdmin):
    list_display = ("title", "video_id", "content_type", "addon_name", "last_attempt", "last_success", "last_status", "stream_count")
    list_filter = ("content_type", "addon_name", "last_status")
    search_fields = ("title", "video_id", "addon_name")
    date_hierarchy = "last_attempt"
    readonly_fields = [f.name for f in PrefetchRecord._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(UpcomingRelease)
class UpcomingReleaseAdmin(admin.ModelAdmin):
    """Written by runs (announced episodes) and the release pass (warmed); read-only here."""

    list_display = ("title", "video_id", "released_at", "warmed_at")
    list_filter = ("warmed_at",)
    search_fields = ("series_name", "video_id")
    readonly_fields = [f.name for f in UpcomingRelease._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Run)
class RunAdmin(admin.ModelAdmin):
    list_display = ("id", "status_badge", "trigger", "created_at", "started_at", "finished_at", "stop_reason")
    list_filter = ("status", "trigger")
    search_fields = ("stop_reason", "error")
    date_hierarchy = "created_at"
    exclude = ("error",)
    readonly_fields = [f.name for f in Run._meta.fields if f.name != "error"] + ["redacted_error"]

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        return format_html('<span class="status status-{}">{}</span>', obj.status, obj.get_status_display())

    @admin.display(description="error")
    def redacted_error(self, obj):
        return redact_text(obj.error) if obj.error else "–"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


class WrittenByTheAppAdmin(admin.ModelAdmin):
    """Read-only: rows only the app itself writes."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(MetricTotal)
class MetricTotalAdmin(WrittenByTheAppAdmin):
    """The totals behind /metrics only ever grow, and only the engine adds to them."""

    list_display = ("metric", "addon_name", "label", "value")
    list_filter = ("metric", "addon_name")


@admin.register(PeriodicWork)
class PeriodicWorkAdmin(WrittenByTheAppAdmin):
    """Each periodic task writes its own row as it runs (the Tasks list on the Schedules page)."""

    list_display = ("name", "started_at", "finished_at", "duration_s", "error")


@admin.register(Addon)
class ProxiedAddonAdmin(AddonAdmin):
    """The addons app's admin, fetching manifests through the proxy of the Settings."""

    def addon_proxy(self) -> str | None:
        return addon_proxy()
