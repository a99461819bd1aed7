"""The status endpoint under load, against `make run`'s single process and the real peer addon.

    make bench                      # or: .venv/bin/python tests/benchmark_status.py [--pollers N]

A run of `--items` stream requests (answered in `--latency-ms`, four at a time) is made `--repeat` times twice: once alone (the baseline, in the same process,
on the same machine), once while `--pollers` clients poll `/api/job/status` every `--interval`
seconds, as that many open dashboards do when their WebSocket is down (static/js/live.js: 1 s). Printed: the status
latency percentiles under load and when idle, and the loaded run's request rate as a fraction of
the baseline's. Targets: p95 < 150 ms with 20 pollers; the run keeps >= 0.8 of its rate.
"""

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
# The test helpers import the app's modules; this process only needs them importable.
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefetcher_site.settings")
os.environ.setdefault("DATA_DIR", tempfile.mkdtemp(prefix="bench-status-client-"))
import django  # noqa: E402

django.setup()

from tests.deployment import EmbeddedApp  # noqa: E402
from tests.peer_server import Peer  # noqa: E402


def status_latency_ms(app: EmbeddedApp) -> float:
    request = urllib.request.Request(f"{app.base}/api/job/status", headers={"Authorization": f"Token {app.token}"})
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=30) as response:
        response.read()
    return (time.perf_counter() - started) * 1000


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def timed_run(app: EmbeddedApp, pollers: int, interval_s: float) -> tuple[float, list[float]]:
    """Start a run, poll with `pollers` clients until it ends; (stream requests/s, latencies ms)."""
    latencies: list[float] = []
    done = threading.Event()

    def poll(phase_s: float):
        done.wait(phase_s)  # dashboards opened at different moments do not poll in step
        while not done.is_set():
            started = time.monotonic()
            latencies.append(status_latency_ms(app))
            done.wait(max(0.0, interval_s - (time.monotonic() - started)))

    run_id = app.call("/api/job/run", method="POST")["status"]["id"]
    threads = [threading.Thread(target=poll, args=[n * interval_s / pollers]) for n in range(pollers)]
    for thread in threads:
        thread.start()
    try:
        while True:
            run = app.call(f"/api/runs/{run_id}")["run"]
            if not run["active"]:
                break
            time.sleep(0.5)  # the benchmark's own watcher: one light request every half second
    finally:
        done.set()
        for thread in threads:
            thread.join()
    assert run["status"] == "completed", run
    print(f"  run #{run_id}: {run['statistics']['stream_requests']} stream requests in {run['duration_s']} s, "
          f"{len(latencies)} status requests")
    return run["statistics"]["stream_requests"] / run["duration_s"], latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000, help="stream requests per run")
    parser.add_argument("--latency-ms", type=int, default=20,
                        help="the addon's stream answer time (a cached self-hosted addon: tens of ms)")
    parser.add_argument("--pollers", type=int, default=20)
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between one poller's requests")
    parser.add_argument("--repeat", type=int, default=3, help="pairs of runs (alone, loaded); medians are shown")
    args = parser.parse_args()

    peer = Peer(PEER_MOVIES=args.items, PEER_NEW_MOVIES=0, PEER_STREAM_LATENCY_MS=args.latency_ms)
    app = EmbeddedApp(peer, Path(tempfile.mkdtemp(prefix="bench-status-")))
    try:
        settings = {"movies_per_catalog": -1, "cache_validity_s": 0, "concurrency": 4, "delay_s": 0,
                    "max_pages_per_catalog": 1000}
        app.call("/api/config", method="POST", body=settings)
        catalogs = app.call("/api/catalogs/load", method="POST")["catalogs"]
        only_popular = [{"id": c["id"], "enabled": c["catalog_id"] == "peer-popular"} for c in catalogs]
        app.call("/api/catalogs/selection", method="POST", body={"catalogs": only_popular})
        idle = [status_latency_ms(app) for _ in range(50)]
        base_rates, loaded_rates, latencies = [], [], []
        for _ in range(args.repeat):  # alternated, so a slower moment of the machine hits both alike
            base_rates.append(timed_run(app, 0, args.interval)[0])
            rate, polled = timed_run(app, args.pollers, args.interval)
            loaded_rates.append(rate)
            latencies += polled
        base_rate, loaded_rate = statistics.median(base_rates), statistics.median(loaded_rates)
    finally:
        app.stop()
        peer.stop()
    print(f"status idle:       p50 {statistics.median(idle):6.1f} ms  p95 {percentile(idle, 0.95):6.1f} ms")
    print(f"status, {args.pollers} pollers every {args.interval:g} s: p50 {statistics.median(latencies):6.1f} ms  "
          f"p95 {percentile(latencies, 0.95):6.1f} ms  max {max(latencies):6.1f} ms  ({len(latencies)} requests)"
          "  (target p95 < 150)")
    print(f"run rate (median of {args.repeat}): {base_rate:.1f} req/s alone, {loaded_rate:.1f} req/s under load = "
          f"{loaded_rate / base_rate:.2f} of it  (target >= 0.8)")


if __name__ == "__main__":
    main()
