from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import api, views

urlpatterns = [
    path("schedules/", views.schedules_page, name="schedules"),
    path("schedules/new/", views.schedule_edit, name="schedule-new"),
    path("schedules/<int:pk>/edit/", views.schedule_edit, name="schedule-edit"),
    path("schedules/<int:pk>/delete/", views.schedule_delete, name="schedule-delete"),
    path("schedules/clear/", views.schedules_clear, name="schedules-clear"),
    path("schedules/toggle/", views.schedules_toggle, name="schedules-toggle"),
    path("api/schedule", login_not_required(api.ScheduleView.as_view()), name="api-schedule"),
    path("api/timezone", login_not_required(api.TimezoneView.as_view()), name="api-timezone"),
]
