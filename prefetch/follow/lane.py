"""The companion's lane: what happens after the companion addon was asked for a video's streams.

The play is recorded (judged warm or not against the records), and for a series episode the next
K aired, non-special episodes are warmed on every stream addon serving them. The lane is not a run:
it works while a catalog run is active (its own Celery queue, consumed by a worker of its own, see
`tasks`), shares the record store (a pair still warm is not requested again, and what the lane
warms a run skips), and keeps at most one request in flight per addon: one lane at a time per
process, each with a concurrency of 1, and production runs one lane process."""

import logging
import threading
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from prefetch.engine.pace import FIXED
from prefetch.engine.plan import CatalogSpec, ListedItem
from prefetch.models import PrefetchSettings
from prefetch.record_store import DatabaseRecordStore
from prefetch.releases import RELEASE_RUN_SETTINGS
from prefetch.runs.execute import database_engine
from prefetch.runs.plan import plan_from_database

from .episodes import SeriesEpisodes
from .models import LaneWarm, Viewer
from .plays import record_play
from .sources.targets import next_episodes, series_of

logger = logging.getLogger("prefetch.follow.lane")

# One request in flight per addon is the politeness here, so no delay between them: the next
# episodes should be warm before the current one ends. Nothing re-requested to measure it.
LANE_SETTINGS = {**RELEASE_RUN_SETTINGS, "concurrency": 1, "concurrency_mode": FIXED, "delay_s": 0.0,
                 "verify_sample_size": 0}
NEXT_EPISODES_CATALOG = "Next episodes"
_one_lane = threading.Lock()  # the embedded worker runs tasks on threads


def companion_play(viewer_id: int, content_type: str, video_id: str, at: datetime) -> list[str]:
    """Record the play and warm what comes next; returns the video ids the lane warmed or found warm."""
    viewer = Viewer.objects.filter(pk=viewer_id).first()
    if viewer is None:  # removed (or its secret regenerated and the viewer deleted) meanwhile
        return []
    plan = plan_from_database(LANE_SETTINGS)
    record_play(viewer, content_type, video_id, at, plan.stream_addons)
    k = PrefetchSettings.load().follow_next_episodes
    if content_type != "series" or k <= 0 or not plan.stream_addons:
        return []
    series_id = series_of(video_id)
    episodes = SeriesEpisodes(plan)
    upcoming = next_episodes(episodes(series_id), video_id, k, timezone.now())
    if not upcoming:
        return []
    plan.catalogs = [CatalogSpec(plan.stream_addons[0], "series", "next", NEXT_EPISODES_CATALOG, items=(
        ListedItem("series", series_id, episodes.name(series_id), tuple(upcoming)),), skip_warm=True)]
    with _one_lane:
        database_engine(plan, store=LaneRecordStore(), log=logger).run()
    return [video.id for video in upcoming]


class LaneRecordStore(DatabaseRecordStore):
    """The record store, remembering which successes the lane got (what warmed a later play)."""

    @transaction.atomic
    def save(self, outcomes) -> None:
        super().save(outcomes)
        for outcome in outcomes:
            if outcome.ok:
                LaneWarm.objects.update_or_create(
                    addon_key=outcome.addon_key, content_type=outcome.content_type, video_id=outcome.video_id,
                    defaults={"at": outcome.at},
                )
