from django.contrib.auth.decorators import login_not_required
from django.urls import path

from . import api, views


def _api(view):
    # DRF answers 401/403 itself (session or token auth): the login redirect is for pages only.
    return login_not_required(view.as_view())


urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("runs/", views.history, name="history"),
    path("runs/<int:pk>/", views.run_page, name="run"),
    path("records/", views.records, name="records"),
    path("logs/", views.logs, name="logs"),
    path("api/job/status", _api(api.JobStatusView), name="api-job-status"),
    path("api/job/run", _api(api.JobRunView), name="api-job-run"),
    path("api/job/cancel", _api(api.JobCancelView), name="api-job-cancel"),
    path("api/job/pause", _api(api.JobPauseView), name="api-job-pause"),
    path("api/job/resume", _api(api.JobResumeView), name="api-job-resume"),
    path("api/job/output", _api(api.JobOutputView), name="api-job-output"),
    path("api/events", api.events, name="api-events"),
    path("api/runs", _api(api.RunListView), name="api-runs"),
    path("api/runs/<int:pk>", _api(api.RunDetailView), name="api-run"),
    path("api/records", _api(api.RecordListView), name="api-records"),
    path("api/records/invalidate", _api(api.RecordInvalidateView), name="api-records-invalidate"),
    path("api/logs", _api(api.LogListView), name="api-logs"),
    path("api/logs/<path:name>", _api(api.LogFileView), name="api-log"),
]
