from django import forms
from django.contrib import admin
from django.utils import timezone

from . import services
from .models import Addon, Catalog


class AddonAdminForm(forms.ModelForm):
    """The admin adds addons like the Addons page does: normalised, de-duplicated, manifest checked."""

    class Meta:
        model = Addon
        fields = "__all__"

    def clean_url(self):
        try:
            url = services.normalise(self.cleaned_data["url"])
            services._check_duplicate(url, exclude_pk=self.instance.pk)
            self.manifest = services.fetch_manifest(url)
        except services.AddonError as error:
            raise forms.ValidationError(str(error)) from None
        return url


class CatalogInline(admin.TabularInline):
    model = Catalog
    extra = 0
    fields = ("position", "enabled", "content_type", "catalog_id", "name", "extra_values", "missing")
    readonly_fields = ("content_type", "catalog_id", "name", "missing")


@admin.register(Addon)
class AddonAdmin(admin.ModelAdmin):
    list_display = ("name", "redacted_url", "role", "position", "enabled", "version", "fetched_at")
    list_filter = ("role", "enabled")
    search_fields = ("name",)
    readonly_fields = ("redacted_url", "manifest", "fetched_at", "name", "logo", "version")
    inlines = [CatalogInline]
    form = AddonAdminForm

    def save_model(self, request, obj, form, change):
        manifest = getattr(form, "manifest", None)
        if manifest is not None:
            obj.apply_manifest(manifest, timezone.now())
        super().save_model(request, obj, form, change)

    def get_fields(self, request, obj=None):
        # The full URL is only editable on the add form; afterwards it is shown redacted.
        base = ["role", "position", "enabled", "name", "logo", "version", "fetched_at", "manifest"]
        return (["url"] if obj is None else ["redacted_url"]) + base


@admin.register(Catalog)
class CatalogAdmin(admin.ModelAdmin):
    list_display = ("name", "content_type", "catalog_id", "addon", "enabled", "position", "missing")
    list_filter = ("enabled", "content_type", "missing", "addon")
    search_fields = ("name", "catalog_id")
    list_editable = ("enabled", "position")
