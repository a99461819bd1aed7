# Importing the Celery app here binds @shared_task to it and fills the admin's task list.
from .celery import app as celery_app

__all__ = ("celery_app",)
