from django.apps import AppConfig


class SchedulesConfig(AppConfig):
    name = "schedules"
    verbose_name = "Schedules"

    def ready(self):
        from prefetch.web import selectors

        from .liveness import schedule_summary

        selectors.schedule_summary = schedule_summary
