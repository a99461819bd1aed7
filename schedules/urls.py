from django.urls import path

from addons.web.api_conventions import api_view

from . import api, views

urlpatterns = [
    path("schedules/", views.schedules_page, name="schedules"),
    path("schedules/new/", views.schedule_edit, name="schedule-new"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule-edit"),
    path("schedules/<int:pk>/delete/", views.schedule_delete, name="schedule-delete"),
    path("schedules/<int:pk>/run/", views.schedule_run_now, name="schedule-run-now"),
    path("schedules/clear/", views.schedules_clear, name="schedules-clear"),
    path("schedules/toggle/", views.schedules_toggle, name="schedules-toggle"),
    path("api/schedule", api_view(api.ScheduleView), name="api-schedule"),
    path("api/schedules/<int:pk>/run", api_view(api.ScheduleRunView), name="api-schedule-run"),
    path("api/timezone", api_view(api.TimezoneView), name="api-timezone"),
]
