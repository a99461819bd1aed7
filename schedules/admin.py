import django_celery_beat.admin  # noqa: F401  registers beat's models first, so that they can be taken out
from django.contrib import admin
from django_celery_beat import models as beat

from . import services
from .models import Schedule, SchedulerHeartbeat, SchedulingSettings
from .services import delete_schedule, next_occurrence, sync_all, sync_schedule


@admin.register(Schedule)
class ScheduleAdmin(admin.ModelAdmin):
    list_display = ("time", "days_label", "enabled", "profile_label", "next_run", "periodic_task")
    list_filter = ("enabled",)
    readonly_fields = ("next_run", "periodic_task", "created_at")

    @admin.display(description="next run (server zone)")
    def next_run(self, obj):
        return next_occurrence(obj) if obj.pk and obj.enabled else "–"

    def has_add_permission(self, request):
        # The same cap as every other writer (services.create_schedule).
        return super().has_add_permission(request) and Schedule.objects.count() < services.MAX_SCHEDULES

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


@admin.register(SchedulerHeartbeat)
class SchedulerHeartbeatAdmin(admin.ModelAdmin):
    """Read-only: beat writes it as it ticks (schedules.scheduler)."""

    list_display = ("last_tick", "hostname", "pid")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


# Beat's own tables are written by the schedule sync (services.sync_schedule): edited by hand they
# would drift from the Schedules the app shows, so the admin does not offer them.
for model in (beat.ClockedSchedule, beat.CrontabSchedule, beat.IntervalSchedule, beat.SolarSchedule, beat.PeriodicTask):
    admin.site.unregister(model)
