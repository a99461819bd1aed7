from django.contrib import admin
from django.utils.html import format_html

from addons.redaction import redact_text, redact_url

from .models import PrefetchRecord, PrefetchSettings, Run


@admin.register(PrefetchSettings)
class PrefetchSettingsAdmin(admin.ModelAdmin):
    """One row. The proxy URL may hold credentials: shown redacted, replaced only when typed anew."""

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

    def save_model(self, request, obj, form, change):
        typed = form.cleaned_data.get("proxy_url", "")
        if typed == "-":
            obj.proxy_url = ""
        elif not typed:
            obj.proxy_url = getattr(obj, "_real_proxy", "")
        super().save_model(request, obj, form, change)

    def has_add_permission(self, request):
        return not PrefetchSettings.objects.exists()


@admin.register(PrefetchRecord)
class PrefetchRecordAdmin(admin.ModelAdmin):
    list_display = ("title", "video_id", "content_type", "addon_name", "last_attempt", "last_success", "last_status", "stream_count")
    list_filter = ("content_type", "addon_name", "last_status")
    search_fields = ("title", "video_id", "addon_name")
    date_hierarchy = "last_attempt"
    readonly_fields = [f.name for f in PrefetchRecord._meta.fields]

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
