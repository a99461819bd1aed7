"""Engine throughput and memory against the real peer addon, with a baseline measured in the same run.

    make bench                      # or: .venv/bin/python tests/benchmark.py [--items N]

Baseline: a plain sequential `requests.Session` loop over the same stream URLs. The engine runs
the full path (catalog paging, record lookups, record writes) on a throwaway SQLite database.
Targets: concurrency 1 reaches >= 0.8x the baseline at zero latency; concurrency 8 with 20 ms
latency reaches >= 6x its own concurrency-1 rate; a 10,000-request run peaks under 150 MB RSS.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(data_dir: str) -> None:
    os.environ["DATA_DIR"] = data_dir
    os.environ.pop("DATABASE_URL", None)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "prefetcher_site.settings")
    os.environ.setdefault("LOG_LEVEL", "ERROR")
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def engine_rate(peer_url: str, concurrency: int) -> tuple[float, int, float]:
    from prefetch.models import PrefetchRecord
    from prefetch.runs import database_engine
    from tests.helpers import addon, plan

    PrefetchRecord.objects.all().delete()
    run_plan = plan(
        [addon(peer_url)], [("movie", "peer-popular")], concurrency=concurrency, max_pages_per_catalog=1000,
        movies_per_catalog=-1,
    )
    started = time.perf_counter()
    report = database_engine(run_plan).run()
    elapsed = time.perf_counter() - started
    requests_made = report["statistics"]["stream_requests"]
    return requests_made / elapsed, requests_made, elapsed


def baseline_rate(peer, ids: list[str]) -> tuple[float, int, float]:
    import requests

    session = requests.Session()
    started = time.perf_counter()
    for movie_id in ids:
        response = session.get(f"{peer.base}/stream/movie/{movie_id}.json", timeout=30)
        response.raise_for_status()
        response.json()
    elapsed = time.perf_counter() - started
    return len(ids) / elapsed, len(ids), elapsed


def record_lookup(rows: int) -> tuple[float, float]:
    """Fill the records table with `rows` rows, then time the engine's per-item look-up (ms)."""
    from django.db import connection

    from prefetch.models import PrefetchRecord
    from prefetch.record_store import DatabaseRecordStore

    PrefetchRecord.objects.all().delete()
    table = PrefetchRecord._meta.db_table
    started = time.perf_counter()
    with connection.cursor() as cursor:
        batch = 50_000
        for start in range(0, rows, batch):
            cursor.executemany(
                f"INSERT INTO {table} (addon_key, addon_name, content_type, video_id, title, last_attempt,"
                " last_success, last_error) VALUES (%s, 'bench', 'series', %s, '', %s, %s, '')",
                [(f"addon{n % 3}", f"tt{n:09d}:1:1", "2026-11-28 00:00:00", "2026-11-28 00:00:00")
                 for n in range(start, min(rows, start + batch))],
            )
    fill_s = time.perf_counter() - started
    store = DatabaseRecordStore()
    ids = [f"tt{n:09d}:1:1" for n in range(rows // 2, rows // 2 + 20)]
    lookups = 200
    started = time.perf_counter()
    for _ in range(lookups):
        found = store.valid_keys(["addon0", "addon1", "addon2"], "series", ids, -1)
    per_lookup_ms = (time.perf_counter() - started) * 1000 / lookups
    assert len(found) == 20
    return fill_s, per_lookup_ms


def memory_run(items: int) -> None:
    """Child process: one run of `items` stream requests; prints peak RSS (MB) as JSON."""
    from tests.peer_server import Peer

    setup_django(tempfile.mkdtemp(prefix="bench-mem-"))
    peer = Peer(PEER_MOVIES=items, PEER_NEW_MOVIES=0)
    try:
        _, made, elapsed = engine_rate(peer.url, 8)
    finally:
        peer.stop()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"requests": made, "seconds": round(elapsed, 2), "peak_rss_mb": round(peak_mb, 1)}))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=2000, help="movies per throughput measurement")
    parser.add_argument("--latency-items", type=int, default=400, help="movies for the 20 ms measurements")
    parser.add_argument("--memory-items", type=int, default=10000)
    parser.add_argument("--records", type=int, default=1_000_000, help="rows for the record look-up timing")
    parser.add_argument("--memory-run", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.memory_run:
        return memory_run(args.memory_run)

    from tests.peer_server import Peer

    setup_django(tempfile.mkdtemp(prefix="bench-"))
    rows = []
    fast = Peer(PEER_MOVIES=args.items, PEER_NEW_MOVIES=0)
    slow = Peer(PEER_MOVIES=args.latency_items, PEER_NEW_MOVIES=0, PEER_STREAM_LATENCY_MS=20)
    try:
        ids = fast.expected()["movieIds"]
        baseline_rate(fast, ids[:200])  # warm up connections and the peer's JIT
        base = baseline_rate(fast, ids)
        engine1 = engine_rate(fast.url, 1)
        slow_base = baseline_rate(slow, slow.expected()["movieIds"])
        slow1 = engine_rate(slow.url, 1)
        slow8 = engine_rate(slow.url, 8)
    finally:
        fast.stop()
        slow.stop()
    rows = [
        ("baseline requests.Session, 0 ms", base),
        ("engine concurrency 1, 0 ms", engine1),
        ("baseline requests.Session, 20 ms", slow_base),
        ("engine concurrency 1, 20 ms", slow1),
        ("engine concurrency 8, 20 ms", slow8),
    ]
    print(f"{'measurement':36} {'requests':>9} {'seconds':>8} {'req/s':>8}")
    for name, (rate, made, elapsed) in rows:
        print(f"{name:36} {made:9d} {elapsed:8.2f} {rate:8.1f}")
    print()
    print(f"engine c1 / baseline at 0 ms:     {engine1[0] / base[0]:.2f}  (target >= 0.8)")
    print(f"engine c8 / engine c1 at 20 ms:   {slow8[0] / slow1[0]:.2f}  (target >= 6)")

    fill_s, lookup_ms = record_lookup(args.records)
    print(f"records: {args.records} rows (filled in {fill_s:.1f} s); one item's look-up (20 videos x 3 addons) "
          f"takes {lookup_ms:.2f} ms")

    child = subprocess.run(
        [sys.executable, __file__, "--memory-run", str(args.memory_items)], capture_output=True, text=True, check=True
    )
    memory = json.loads(child.stdout.strip().splitlines()[-1])
    print(
        f"memory: {memory['requests']} stream requests in {memory['seconds']} s, "
        f"peak RSS {memory['peak_rss_mb']} MB  (target < 150)"
    )


if __name__ == "__main__":
    main()
