from django import forms
from django.contrib import admin, messages
from django.http import HttpResponseRedirect

from . import services
from .models import Addon, AddonHealth, Catalog


class AddonAdminForm(forms.ModelForm):
    """The admin adds addons like the Addons page does: normalised, de-duplicated, manifest checked."""

    proxy: str | None = None  # set by AddonAdmin.get_form

    class Meta:
        model = Addon
        fields = "__all__"

    def clean_url(self):
        try:
            url, self.manifest = services.check_new_url(self.cleaned_data["url"], proxy=self.proxy)
        except services.AddonError as error:
            raise forms.ValidationError(str(error)) from None
        return url


class CatalogChoiceForm(forms.ModelForm):
    """Enabled and extra values, checked like the Catalogs page checks them."""

    def clean(self):
        cleaned = super().clean()
        try:
            values = services.clean_choice(
                self.instance, enabled=cleaned.get("enabled", self.instance.enabled),
                extra_values=cleaned.get("extra_values", self.instance.extra_values),
            )
        except services.AddonError as error:
            self.add_error(error.field if error.field in self.fields else None, str(error))
        else:
            if "extra_values" in self.fields:
                cleaned["extra_values"] = values
        return cleaned


# What comes from the addon's manifest: shown, never edited (Load catalogs refreshes it).
CATALOG_DECLARED = ("addon", "content_type", "catalog_id", "name", "extras", "missing")


class CatalogInline(admin.TabularInline):
    model = Catalog
    form = CatalogChoiceForm
    extra = 0
    fields = ("position", "enabled", "content_type", "catalog_id", "name", "extra_values", "missing")
    readonly_fields = ("content_type", "catalog_id", "name", "missing")

    def has_add_permission(self, request, obj=None):
        return False  # catalogs come from the manifest (Load catalogs on the Catalogs page)


class AddonAdmin(admin.ModelAdmin):
    """Registered by the prefetch app (prefetch/admin.py), whose settings hold the proxy that
    requests to addons go through (`addon_proxy`)."""

    list_display = ("name", "redacted_url", "role", "position", "enabled", "version", "fetched_at")
    list_filter = ("role", "enabled")
    search_fields = ("name",)
    readonly_fields = ("redacted_url", "position", "manifest", "fetched_at", "name", "logo", "version")
    inlines = [CatalogInline]
    form = AddonAdminForm

    def addon_proxy(self) -> str | None:
        return None

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.proxy = self.addon_proxy()
        return form

    def add_view(self, request, form_url="", extra_context=None):
        # Not inside the admin's transaction (changeform_view's): the form fetches the manifest,
        # which must not hold the database; the service writes in its own transaction.
        try:
            return self._changeform_view(request, None, form_url, extra_context)
        except services.AddonError as error:  # found at the write: added meanwhile by someone else
            self.message_user(request, str(error), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_model(self, request, obj, form, change):
        if change:  # the URL is not editable here; role and enabled go through the same service
            services.update_addon(Addon.objects.get(pk=obj.pk), role=obj.role, enabled=obj.enabled)
        else:
            services.save_new_addon(obj, form.manifest)

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
    readonly_fields = CATALOG_DECLARED
    form = CatalogChoiceForm

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=CatalogChoiceForm, **kwargs)

    def has_add_permission(self, request):
        return False  # catalogs come from the manifest (Load catalogs on the Catalogs page)


@admin.register(AddonHealth)
class AddonHealthAdmin(admin.ModelAdmin):
    """Read-only: the probe and the runs write it (addons.health)."""

    list_display = ("addon", "status", "probed_at", "probe_error", "run_id", "run_problem")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
