from django.contrib import admin

from .models import Schedule, SchedulingSettings
from .services import delete_schedule, sync_all, sync_schedule


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("time", "days_label", "enabled")
    list_filter = ("enabled",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        sync_schedule(obj)

    def delete_model(self, request, obj):
        delete_schedule(obj)

    def delete_queryset(self, request, queryset):
        for schedule in queryset:
            delete_schedule(schedule)


@admin.register(SchedulingSettings)
class SchedulingSettingsAdmin(admin.ModelAdmin):
    list_display = ("enabled",)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        sync_all()
