"""Live run progress: what is published to the channel layer, and how it gets there.

Every message is `{"type": "prefetch.progress", "event": ..., "run": <run payload>}` where the run
payload is the same object `/api/job/status` answers (the Run row plus its latest engine snapshot).
`run.seq` grows monotonically within a run, so a client keeps the newest message and drops older
ones; the layer may drop messages, so clients also re-fetch the snapshot over HTTP on (re)connect.

Two transports, chosen by the configured layer:

* channels_redis (REDIS_URL): the worker process sends to the group `prefetch-progress`. Sending
  from sync code goes through `async_to_sync`, which runs on a throwaway event loop, so a dedicated
  layer instance is used and its pools are closed inside the same call (channels_redis#332).
* InMemoryChannelLayer (embedded mode): web server, worker and beat share one process, but the
  worker is another thread with its own event loop, and the in-memory layer's asyncio queues are
  not thread-safe (a `put_nowait` from another loop never wakes the waiting consumer). Subscribers
  therefore join a group per event loop (`prefetch-progress.<loop id>`) and the publisher schedules
  each `group_send` on the loop that owns those queues with `run_coroutine_threadsafe`.
"""

import asyncio
import logging
import threading
import time

from asgiref.sync import async_to_sync
from channels.layers import InMemoryChannelLayer, channel_layers, get_channel_layer
from django.utils import timezone

from .deprecated_names import statistics_with_old_names
from .models import Run

logger = logging.getLogger("prefetch.progress")

GROUP = "prefetch-progress"
MESSAGE_TYPE = "prefetch.progress"

_loops: dict[int, asyncio.AbstractEventLoop] = {}
_loops_lock = threading.Lock()
_publisher_layer = None
_publisher_lock = threading.Lock()


def _in_memory(layer) -> bool:
    return isinstance(layer, InMemoryChannelLayer)


def subscriber_group() -> str:
    """The group a consumer (or SSE stream) running on the current event loop must join."""
    layer = get_channel_layer()
    if _in_memory(layer):
        loop = asyncio.get_running_loop()
        with _loops_lock:
            _loops[id(loop)] = loop
        return f"{GROUP}.{id(loop)}"
    return GROUP


def _dedicated_layer():
    """A Redis layer instance used only for publishing, so closing its pools never touches a consumer's."""
    global _publisher_layer
    with _publisher_lock:
        if _publisher_layer is None:
            _publisher_layer = channel_layers.make_backend("default")
        return _publisher_layer


async def _send_and_close(layer, message: dict) -> None:
    try:
        await layer.group_send(GROUP, message)
    finally:
        await layer.close_pools()


def publish(event: str, run_payload: dict) -> None:
    """Send one message to every subscriber; never raises (a run must not fail for its audience)."""
    message = {"type": MESSAGE_TYPE, "event": event, "run": run_payload}
    try:
        layer = get_channel_layer()
        if layer is None:
            return
        if not _in_memory(layer):
            async_to_sync(_send_and_close)(_dedicated_layer(), message)
            return
        with _loops_lock:
            targets = list(_loops.items())
        for key, loop in targets:
            if loop.is_closed():
                with _loops_lock:
                    _loops.pop(key, None)
                continue
            coroutine = layer.group_send(f"{GROUP}.{key}", message)
            try:
                asyncio.run_coroutine_threadsafe(coroutine, loop)
            except RuntimeError:  # closed between the check and the call
                coroutine.close()
    except Exception:
        logger.warning("Could not publish run progress", exc_info=True)


# --- what a message carries --------------------------------------------------------------------------
def _iso(value):
    return value.isoformat() if value else None


def run_payload(run) -> dict:
    """The run as every live client sees it: state, timing, latest snapshot (with its log tail)."""
    progress = dict(run.progress or {})
    if "statistics" in progress:
        progress["statistics"] = statistics_with_old_names(progress["statistics"])
    duration = run.duration_s
    if duration is None and run.started_at and run.is_active:
        duration = (timezone.now() - run.started_at).total_seconds()
    return {
        "id": run.pk,
        "status": run.status,
        "trigger": run.trigger,
        "active": run.is_active,
        "cancel_requested": run.cancel_requested,
        "created_at": _iso(run.created_at),
        "start_time": _iso(run.started_at),
        "end_time": _iso(run.finished_at),
        "duration_s": round(duration, 1) if duration is not None else None,  # active time: pauses left out
        "paused_s": round(run.paused_s, 1),
        "stop_reason": run.stop_reason,
        "error": run.error,
        "seq": int(progress.get("seq") or 0),
        "progress": progress,
        "statistics": statistics_with_old_names(run.statistics) if not run.is_active else {},
        "log_file": run.log_file,
        "worker": run.worker,
        "heartbeat_at": _iso(run.heartbeat_at),
        "resumes": run.resumes,
        "url": f"/runs/{run.pk}/",
    }


def publish_run(run_id: int, event: str) -> None:
    """Read the row and publish it (state changes from the web process or at the end of a run)."""
    run = Run.objects.filter(pk=run_id).first()
    if run is not None:
        publish(event, run_payload(run))


class RunPublisher:
    """Wraps the engine's progress sink: adds the log tail to the snapshot, lets the recorder save it,
    then publishes the run, throttled to one `progress` message a second; state events always go."""

    def __init__(self, run_id: int, recorder, tail=None, min_interval_s: float = 0.9):
        self.run_id = run_id
        self.recorder = recorder
        self.tail = tail
        self.min_interval_s = min_interval_s
        self.last_sent = 0.0

    def __call__(self, snapshot: dict, event: str) -> None:
        if self.tail is not None:
            snapshot["log_tail"] = self.tail.lines()
        self.recorder(snapshot, event)
        now = time.monotonic()
        if event == "progress" and now - self.last_sent < self.min_interval_s:
            return
        self.last_sent = now
        # The engine's "finished" precedes the row's final state; the observer publishes that one.
        publish_run(self.run_id, "stopping" if event == "finished" else event)
