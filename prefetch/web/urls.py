from django.urls import path

from addons.web.api_conventions import api_view
from prefetch.web import api
from prefetch.web import pages as views

urlpatterns = [
    path("runs/", views.history, name="history"),
    path("runs/<int:pk>/", views.run_page, name="run"),
    path("records/", views.records, name="records"),
    path("logs/", views.logs, name="logs"),
    path("api/job/status", api_view(api.JobStatusView), name="api-job-status"),
    path("api/job/run", api_view(api.JobRunView), name="api-job-run"),
    path("api/job/cancel", api_view(api.JobCancelView), name="api-job-cancel"),
    path("api/job/pause", api_view(api.JobPauseView), name="api-job-pause"),
    path("api/job/resume", api_view(api.JobResumeView), name="api-job-resume"),
    path("api/job/output", api_view(api.JobOutputView), name="api-job-output"),
    path("api/events", api.events, name="api-events"),
    path("api/runs", api_view(api.RunListView), name="api-runs"),
    path("api/runs/<int:pk>", api_view(api.RunDetailView), name="api-run"),
    path("api/records", api_view(api.RecordListView), name="api-records"),
    path("api/records/invalidate", api_view(api.RecordInvalidateView), name="api-records-invalidate"),
    path("api/logs", api_view(api.LogListView), name="api-logs"),
    path("api/logs/<path:name>", api_view(api.LogFileView), name="api-log"),
]
