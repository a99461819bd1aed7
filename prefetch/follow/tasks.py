"""Thin Celery entry points of following what is watched: all logic lives in `lane` and `services`."""

from datetime import datetime

from celery import current_app, shared_task

from prefetch.tasks import periodic_task

from .accounts import sync_and_warm
from .lane import companion_play

COMPANION_PLAY_TASK = "prefetch.follow.tasks.companion_play"


def lane_queue() -> str:
    """The companion lane's queue, next to the installation's own (CELERY_QUEUE): a worker that
    executes a catalog run never holds it up (see the README, "Follow what's watched")."""
    return f"{current_app.conf.task_default_queue}.follow"


def send_play(viewer_id: int, content_type: str, video_id: str, at: datetime) -> None:
    current_app.send_task(COMPANION_PLAY_TASK, args=[viewer_id, content_type, video_id, at.isoformat()],
                          queue=lane_queue())


@shared_task(name=COMPANION_PLAY_TASK, ignore_result=True)
def companion_play_task(viewer_id: int, content_type: str, video_id: str, at: str) -> None:
    companion_play(viewer_id, content_type, video_id, datetime.fromisoformat(at))


@periodic_task("prefetch.follow.tasks.sync")
def sync() -> None:
    """Beat, every FOLLOW_SYNC_INTERVAL_S: read every viewer's accounts; a follow run when something
    is to warm."""
    sync_and_warm()
