"""Release-day warming: announced episodes are remembered by runs and warmed once they are out."""

import json
from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from addons.models import Addon
from prefetch.models import PrefetchSettings, Run, RunStatus, RunTrigger, UpcomingRelease
from prefetch.runs.execute import execute_run
from prefetch.runs.lifecycle import create_run
from prefetch.tasks import warm_releases
from tests.helpers import command, configure, wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def release_pass(*args) -> dict:
    code, out, err = command("prefetch_releases", *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_announced_episodes_are_warmed_once_they_are_out(make_peer, user_client):
    soon = make_peer(PEER_SOON_RELEASE_S=20)
    configure(soon.url, [("series", "peer-series")], cache_validity_s=7 * 86400,
              release_delay_s=3600)
    normal = execute_run(create_run(RunTrigger.MANUAL).pk)
    assert normal.status == RunStatus.COMPLETED

    announced = {row.video_id: row for row in UpcomingRelease.objects.all()}
    assert len(announced) == 24  # every 5th series' last episode
    assert min(row.released_at for row in announced.values()) > normal.finished_at, "the run outlasted the release"
    requested = {entry["id"] for entry in soon.requests("stream")}
    assert requested and not requested & set(announced)  # left unrequested by the normal run
    assert all(row.title.endswith(row.label) and row.label.startswith("S") for row in announced.values())

    assert release_pass("--release-delay", "0") == {"id": None, "status": "nothing due", "releases": 0}

    last_release = max(row.released_at for row in announced.values())
    wait_until(lambda: timezone.now() >= last_release, timeout=40, message="the announced episodes to air")
    soon.reset()
    assert release_pass() == {"id": None, "status": "nothing due", "releases": 0}  # the saved delay: 1 h
    summary = release_pass("--release-delay", "0")

    assert summary["status"] == "completed" and summary["releases"] == 24
    streams = soon.requests("stream")
    assert Counter(entry["id"] for entry in streams) == Counter(set(announced))  # exactly those, each once
    assert all(entry["n_items"] > 0 for entry in streams)  # out now: they answer with streams
    assert not soon.requests("catalog") and not soon.requests("meta")  # the list, not a walk
    run = Run.objects.get(pk=summary["id"])
    assert run.trigger == RunTrigger.RELEASE and sorted(run.options["releases"]) == sorted(r.pk for r in announced.values())
    assert summary["statistics"]["episodes_prefetched"] == 24
    assert not UpcomingRelease.objects.filter(warmed_at__isnull=True).exists()
    assert "Release-day warming: 24 released episodes." in user_client.get(f"/runs/{run.pk}/").content.decode()

    soon.reset()
    assert release_pass("--release-delay", "0")["status"] == "nothing due"  # once
    assert soon.requests("stream") == []


def remember(video_id: str, released_ago: timedelta, label: str = "S01E01") -> UpcomingRelease:
    return UpcomingRelease.objects.create(content_type="series", series_id="tt1", series_name="Show",
                                          video_id=video_id, label=label, released_at=timezone.now() - released_ago)


def test_the_beat_pass_is_skipped_while_a_run_is_active_and_tried_again():
    remember("tt1:1:1", timedelta(hours=2))
    remember("tt1:1:2", timedelta(minutes=10))  # out, but not for the 1 h delay yet
    active = create_run(RunTrigger.MANUAL)

    warm_releases()
    skipped = Run.objects.get(trigger=RunTrigger.RELEASE)
    assert skipped.status == RunStatus.SKIPPED and "already active" in skipped.stop_reason

    Run.objects.filter(pk=active.pk).update(status=RunStatus.COMPLETED)
    warm_releases()
    queued = Run.objects.get(trigger=RunTrigger.RELEASE, status=RunStatus.QUEUED)
    assert queued.options["releases"] == [UpcomingRelease.objects.get(video_id="tt1:1:1").pk]


def test_nothing_due_starts_nothing():
    remember("tt1:1:3", timedelta(minutes=1))
    warm_releases()
    assert not Run.objects.exists()


def test_the_dashboard_lists_the_upcoming_releases(user_client):
    remember("tt1:2:5", -timedelta(days=1), label="S02E05")
    page = user_client.get("/").content.decode()
    assert 'id="upcoming-releases"' in page and "Show S02E05" in page


def test_a_release_pass_with_addon_needs_no_saved_addon(make_peer):
    small = make_peer(PEER_MOVIES=5, PEER_NEW_MOVIES=0, PEER_SERIES=3, PEER_MAX_SEASONS=1)
    due_ids = {"tt9200000:1:2", "tt9200001:1:1"}
    for video_id in sorted(due_ids):
        UpcomingRelease.objects.create(content_type="series", series_id=video_id.split(":")[0], series_name="Show",
                                       video_id=video_id, label="S01E01", released_at=timezone.now() - timedelta(hours=2))
    remember("tt9200002:1:3", timedelta(minutes=10))  # not out for the delay yet
    assert not Addon.objects.exists()  # as after a `prefetch --addon` run
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"delay_s": 0, "verify_sample_size": 0})

    code, out, err = command("prefetch_releases", "--addon", f"stream={small.url}", "--release-delay", "1h", "--json")

    assert code == 0, err
    assert "No catalog addon" not in err
    summary = json.loads(out)
    assert summary["status"] == "completed" and summary["releases"] == 2
    assert Counter(entry["id"] for entry in small.requests("stream")) == Counter(due_ids)  # exactly those, once
    assert not small.requests("catalog") and not small.requests("meta")
    assert set(UpcomingRelease.objects.filter(warmed_at__isnull=False).values_list("video_id", flat=True)) == due_ids

    small.reset()
    code, out, err = command("prefetch_releases", "--addon", f"stream={small.url}", "--release-delay", "1h")
    assert (code, out.strip()) == (0, "No announced episode is due.") and small.requests("stream") == []


def test_a_release_pass_without_any_stream_addon_says_so():
    remember("tt1:1:1", timedelta(hours=2))
    code, out, err = command("prefetch_releases", "--release-delay", "0")
    assert code == 2 and out == ""
    assert err.strip().startswith("error: No stream addon is configured.") and "\n" not in err.strip()
    assert not Run.objects.exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--addon", "player=http://127.0.0.1:1/manifest.json"], "expected ROLE=URL"),
        (["--addon", "both=ftp://example.org/manifest.json"], "http:// or https://"),
        (["--addon", "stream=http://127.0.0.1:9/manifest.json"], "Could not fetch the manifest"),
        (["--addon", "catalog=PEER"], "needs a stream addon"),
        (["--release-delay", "soon"], "--release-delay"),
        (["--release-delay", "-1"], "--release-delay"),
    ],
)
def test_bad_input_is_one_clear_line_and_exit_two(peer, args, message):
    remember("tt1:1:1", timedelta(hours=2))  # something due: the input is refused before anything runs
    code, out, err = command("prefetch_releases", *[arg.replace("PEER", peer.url) for arg in args])
    text = err.strip()
    assert code == 2 and message in text and "\n" not in text and "Traceback" not in text
    assert not Run.objects.exists()
