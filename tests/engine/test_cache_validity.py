"""Cache validity `auto`: each answer's Cache-Control max-age decides when its record expires."""

import json
from datetime import datetime, timedelta, timezone

import pytest
from django.db.models import Max

from prefetch.engine.freshness import max_age_s
from prefetch.models import PrefetchRecord, PrefetchSettings
from prefetch.runs.execute import database_engine
from tests.helpers import addon, command, plan, wait_until

MOVIES = dict(catalogs=[("movie", "peer-new")])  # 20 movies: the peers below are started with PEER_NEW_MOVIES=20


@pytest.mark.parametrize("header, seconds", [
    ("max-age=1800, stale-while-revalidate=14400, stale-if-error=604800, public", 1800),
    ("public, MAX-AGE=\"60\"", 60),
    ("max-age=0", 0),
    ("no-store", 0),
    ("max-age=60, no-cache", 0),
    ("public", None),
    ("max-age=abc", None),
    ("max-age=-5", None),
    ("max-age=1, max-age=2", None),  # repeated: invalid (RFC 9111 §4.2.1)
    (None, None),
])
def test_max_age_is_read_as_rfc_9111_says(header, seconds):
    assert max_age_s(header) == seconds


def streams_requested(peer) -> int:
    return len(peer.requests("stream"))


@pytest.mark.django_db(transaction=True)
def test_auto_keeps_an_answer_for_its_max_age_even_with_validity_zero(make_peer):
    peer = make_peer(PEER_NEW_MOVIES=20)
    first = database_engine(plan([addon(peer.url)], cache_validity_s=0, cache_validity_auto=True, **MOVIES)).run()
    assert first["statistics"]["stream_requests"] == 20
    record = PrefetchRecord.objects.first()
    assert record.expires_at - record.last_success == timedelta(seconds=1800)  # the peer's cacheMaxAge

    peer.reset()
    second = database_engine(plan([addon(peer.url)], cache_validity_s=0, cache_validity_auto=True, **MOVIES)).run()
    assert streams_requested(peer) == 0
    assert second["statistics"]["already_prefetched"] == 20

    peer.reset()  # without auto, validity 0 requests everything again: the expiry was what kept them
    database_engine(plan([addon(peer.url)], cache_validity_s=0, **MOVIES)).run()
    assert streams_requested(peer) == 20


@pytest.mark.django_db(transaction=True)
def test_auto_requests_everything_again_once_max_age_has_passed(make_peer):
    short = make_peer(PEER_STREAM_CACHE=2, PEER_NEW_MOVIES=20)
    settings = dict(cache_validity_s=-1, cache_validity_auto=True, **MOVIES)  # without auto: never expires
    database_engine(plan([addon(short.url)], **settings)).run()
    assert streams_requested(short) == 20
    last_expiry = PrefetchRecord.objects.aggregate(latest=Max("expires_at"))["latest"]
    assert last_expiry is not None

    wait_until(lambda: datetime.now(timezone.utc) > last_expiry, timeout=10, message="every answer's max-age to pass")
    short.reset()
    again = database_engine(plan([addon(short.url)], **settings)).run()
    assert sorted(e["id"] for e in short.requests("stream")) == sorted(PrefetchRecord.objects.values_list("video_id", flat=True))
    assert again["statistics"]["stream_requests"] == 20 and again["statistics"]["already_prefetched"] == 0


@pytest.mark.django_db(transaction=True)
def test_answers_without_max_age_fall_back_to_the_configured_validity(make_peer):
    no_header = make_peer(PEER_STREAM_CACHE=0, PEER_STALE_REVALIDATE=0, PEER_STALE_ERROR=0, PEER_NEW_MOVIES=20)
    database_engine(plan([addon(no_header.url)], cache_validity_s=86400, cache_validity_auto=True, **MOVIES)).run()
    assert not PrefetchRecord.objects.filter(expires_at__isnull=False).exists()

    no_header.reset()
    database_engine(plan([addon(no_header.url)], cache_validity_s=86400, cache_validity_auto=True, **MOVIES)).run()
    assert streams_requested(no_header) == 0  # within the day

    no_header.reset()
    database_engine(plan([addon(no_header.url)], cache_validity_s=0, cache_validity_auto=True, **MOVIES)).run()
    assert streams_requested(no_header) == 20  # nothing says they are still warm


@pytest.mark.django_db(transaction=True)
def test_the_command_line_takes_cache_validity_auto(make_peer):
    peer = make_peer(PEER_MOVIES=4, PEER_NEW_MOVIES=4, PEER_DUAL=4)  # few movies: no limit needed
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"cache_validity_s": 0})  # only max-age keeps them
    args = ["--addon", f"both={peer.url}", "--delay", "0", "--movies-per-catalog", "-1", "--series-per-catalog", "0",
            "--items-per-mixed-catalog", "0", "--json"]
    runs = []
    for validity in ("auto", "auto", "0"):
        code, out, err = command("prefetch", *args, "--cache-validity", validity)
        assert code == 0, err
        runs.append(json.loads(out)["statistics"])
    assert runs[0]["stream_requests"] > 0
    assert runs[1]["stream_requests"] == 0 and runs[1]["already_prefetched"] == runs[0]["movies_prefetched"]
    assert runs[2]["stream_requests"] == runs[0]["stream_requests"]  # a duration turns auto off
