"""The companion's lane in real worker processes: a play warms the next episodes within 10 s while a
catalog run holds the run worker (its own queue, its own worker), and the run is left alone."""

import time
from collections import Counter

import pytest
from django.test import Client
from django.utils import timezone

from prefetch.follow.models import Play
from prefetch.follow.services import default_viewer
from prefetch.models import Run, RunStatus
from prefetch.runs.lifecycle import request_cancel, request_run
from tests.helpers import configure
from tests.watch_standin import aired_after
from tests.worker_process import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PLAY_TO_WARM_S = 10.0


def test_a_play_warms_the_next_episodes_within_10_s_while_a_catalog_run_is_active(
        make_peer, start_worker, redis_broker, celery_queue):
    peer = make_peer(PEER_STREAM_LATENCY_MS=150)  # the run's 250 movies take about 20 s at 2 in flight
    configure(peer.url, [("movie", "peer-popular")], cache_validity_s=7 * 86400)
    run_worker = start_worker()
    lane_worker = start_worker(queues=[f"{celery_queue}.follow"])
    run = request_run()
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.RUNNING, timeout=20,
             message="the catalog run to start", worker=run_worker)

    episode = "tt9200003:1:4"
    expected = aired_after(peer, "tt9200003", 1, 4, 2)
    played_at = time.monotonic()
    answer = Client().get(f"/watch/{default_viewer().companion_secret}/stream/series/{episode}.json")
    assert answer.json() == {"streams": []}

    def next_episodes_warmed():
        requested = Counter(e["id"] for e in peer.requests("stream") if e["type"] == "series")
        return requested == Counter(expected)

    wait_for(next_episodes_warmed, timeout=PLAY_TO_WARM_S, message="the next episodes to be warmed",
             worker=lane_worker)
    latency_s = time.monotonic() - played_at
    assert Run.objects.get(pk=run.pk).status == RunStatus.RUNNING  # the run went on meanwhile
    assert latency_s < PLAY_TO_WARM_S
    play = wait_for(lambda: Play.objects.filter(video_id=episode).first(), timeout=5, message="the play")
    assert (play.warm, play.miss_reason) == (False, "never warmed") and play.at <= timezone.now()

    request_cancel(run)
    wait_for(lambda: Run.objects.get(pk=run.pk).status == RunStatus.CANCELLED, timeout=20,
             message="the run to be cancelled", worker=run_worker)
