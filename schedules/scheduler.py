"""The beat scheduler: django-celery-beat's DatabaseScheduler (stand-in until the heartbeat lands)."""

from django_celery_beat.schedulers import DatabaseScheduler


class Scheduler(DatabaseScheduler):
    pass
