"""Memory of a run against an addon whose catalog page is huge: the page is read one meta at a time
and at most ADDON_MAX_PAGE_ITEMS (10,000) of it are taken, so the run's memory stays flat."""

import json
import subprocess
import sys
import time

from tests.helpers import ROOT, migrated

PEAK_LIMIT_MB = 250  # the same run against the default peer peaks at 100 MB; it took 274 MB here before


def high_water_mb(pid: int) -> float:
    """The process's peak resident memory so far (VmHWM). Not ru_maxrss: that one also counts the
    test process's own memory, copied into the child by fork before it runs the command."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (FileNotFoundError, ProcessLookupError):
        pass  # it has just ended
    return 0.0


def test_a_100000_item_catalog_page_keeps_the_run_under_250_mb(make_peer, tmp_path):
    # 100,000 metas in one page: 21.5 MB, over the default answer cap, which is raised for it
    peer = make_peer(PEER_MOVIES=100_000, PEER_PAGE_SIZE=100_000)
    env = migrated(tmp_path, ADDON_MAX_ANSWER_MB="25")
    stdout, stderr = tmp_path / "stdout", tmp_path / "stderr"
    with stdout.open("w") as out, stderr.open("w") as err:
        process = subprocess.Popen(
            [sys.executable, "manage.py", "prefetch", "--addon", f"both={peer.url}", "--concurrency", "8",
             "--delay", "0", "--cache-validity", "0", "--movies-per-catalog", "-1", "--verify", "0", "--json"],
            cwd=ROOT, env=env, stdout=out, stderr=err,
        )
        peak_mb = 0.0
        while process.poll() is None:
            peak_mb = max(peak_mb, high_water_mb(process.pid))
            time.sleep(0.05)  # sampling the high-water mark, which only grows: no event to wait for
    assert process.returncode == 0, stderr.read_text()[-3000:]
    popular = next(c for c in json.loads(stdout.read_text())["catalogs"] if c["id"] == "peer-popular")
    assert popular["prefetched"] == 10_000 and popular["items_over_page_cap"] == 90_000
    assert "the page at skip=0 lists 100000 items; only the first 10000 are taken" in stderr.read_text()
    print(f"peak RSS {peak_mb:.0f} MB")
    assert peak_mb < PEAK_LIMIT_MB
