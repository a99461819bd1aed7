"""The progress WebSocket: sign-in required, origin checked, a real run's messages arrive in order.

The run executes in another thread (as the embedded worker does), so this also checks that the
in-memory channel layer delivery works across threads and event loops (prefetch/progress.py).
"""

import asyncio
import logging
import threading
import time

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.test import Client

from prefetch import progress
from prefetch.models import Run, RunTrigger
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from tests.helpers import configure

pytestmark = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://testserver")
HOST = (b"host", b"testserver")


def _session_cookie() -> bytes:
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.create_user("watcher", password="irrelevant-password-123")
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


def _application():
    from prefetcher_site.asgi import application

    return application


async def _connect(headers):
    communicator = WebsocketCommunicator(_application(), "/ws/progress/", headers=[HOST, *headers])
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def test_anonymous_users_are_refused():
    communicator, connected, code = await _connect([ORIGIN])
    try:
        assert not connected
        assert code == 4401
    finally:
        await communicator.disconnect()


@pytest.mark.parametrize("origin", [b"http://evil.example", b"null", b"http://testserver.evil.example", None])
async def test_foreign_origins_are_refused_even_with_any_host_allowed(origin, settings):
    assert "*" in settings.ALLOWED_HOSTS  # the default, which used to let any Origin through
    cookie = await sync_to_async(_session_cookie)()
    evil, connected, _ = await _connect([(b"cookie", cookie)] + ([(b"origin", origin)] if origin else []))
    try:
        assert not connected
    finally:
        await evil.disconnect()


async def test_the_sites_own_origin_and_trusted_origins_are_accepted(settings):
    settings.CSRF_TRUSTED_ORIGINS = ["https://prefetcher.example.com"]
    cookie = await sync_to_async(_session_cookie)()
    for origin in (b"http://testserver", b"https://prefetcher.example.com"):
        good, connected, _ = await _connect([(b"origin", origin), (b"cookie", cookie)])
        try:
            assert connected, origin
        finally:
            await good.disconnect()


async def test_a_signed_in_browser_receives_a_runs_messages_in_order(make_peer):
    peer = make_peer(PEER_STREAM_LATENCY_MS=15)
    await sync_to_async(configure)(peer.url, [("movie", "peer-popular")], movies_per_catalog=60, concurrency=1)
    cookie = await sync_to_async(_session_cookie)()
    communicator, connected, _ = await _connect([ORIGIN, (b"cookie", cookie)])
    assert connected
    try:
        assert (await communicator.receive_json_from(timeout=2)) == {"event": "connected"}
        run = await sync_to_async(create_run)(RunTrigger.MANUAL)
        worker = threading.Thread(target=execute_run, args=(run.pk,), daemon=True)  # the worker's own thread
        worker.start()
        messages = []
        deadline = time.monotonic() + 30
        while not messages or messages[-1]["event"] != "finished":
            assert time.monotonic() < deadline, f"no finished message; got {[m['event'] for m in messages]}"
            message = await communicator.receive_json_from(timeout=max(0.1, deadline - time.monotonic()))
            assert message["run"]["id"] == run.pk
            messages.append(message)
        await asyncio.get_running_loop().run_in_executor(None, worker.join, 10)
    finally:
        await communicator.disconnect()

    events = [m["event"] for m in messages]
    assert events[0] == "started" and events[-1] == "finished"
    assert "progress" in events
    seqs = [m["run"]["seq"] for m in messages]
    assert seqs == sorted(seqs) and seqs[-1] > seqs[0]
    movies = [m["run"]["progress"].get("statistics", {}).get("movies_prefetched", 0) for m in messages]
    assert movies == sorted(movies) and movies[-1] == 60
    final = messages[-1]["run"]
    assert final["status"] == "completed" and final["active"] is False and final["end_time"]
    assert any("Run started" in line for line in final["progress"]["log_tail"])
    # Throttled: about one progress message a second, never one per stream request.
    assert events.count("progress") <= 3 + 2 * max(1, int(final["duration_s"] or 1))
    assert (await sync_to_async(Run.objects.get)(pk=run.pk)).progress["seq"] == final["seq"]


async def test_control_messages_from_the_web_reach_the_socket():
    cookie = await sync_to_async(_session_cookie)()
    communicator, connected, _ = await _connect([ORIGIN, (b"cookie", cookie)])
    assert connected
    try:
        await communicator.receive_json_from(timeout=2)
        run = await sync_to_async(Run.objects.create)(status="running")
        # Published from a plain thread, as a sync view or the worker would.
        await asyncio.get_running_loop().run_in_executor(None, progress.publish_run, run.pk, "pausing")
        message = await communicator.receive_json_from(timeout=2)
        assert message["event"] == "pausing" and message["run"]["id"] == run.pk and message["run"]["status"] == "running"
    finally:
        await communicator.disconnect()


async def test_a_socket_idle_past_the_redis_layers_blocking_read_closes_without_a_traceback(settings, redis_url, caplog):
    """channels_redis waits for messages with a 5 s blocking pop; with redis-py's own 5 s read timeout
    the client gave up first, and the socket ended in a TimeoutError traceback."""
    from prefetcher_site.settings import redis_channel_layer

    settings.CHANNEL_LAYERS = {"default": redis_channel_layer(redis_url, settings.CELERY_TASK_DEFAULT_QUEUE)}
    cookie = await sync_to_async(_session_cookie)()
    communicator, connected, _ = await _connect([ORIGIN, (b"cookie", cookie)])
    assert connected
    try:
        assert (await communicator.receive_json_from(timeout=2)) == {"event": "connected"}
        assert await communicator.receive_nothing(timeout=7)  # more than one blocking pop, idle
    finally:
        await communicator.disconnect()  # raised the TimeoutError the server logged as a traceback
    assert [record for record in caplog.records if record.levelno >= logging.ERROR or record.exc_info] == []
