"""The dashboard leads with the value, and the measured effect says what it measured: what is warm
now (one rule with what a run skips), the effect per addon over the last runs, a run whose titles
were already warm, the first answer kept on records, the Records page's words, and the small
wording fixes (history zeros, release header, settings hints, the duplicate's group)."""

from datetime import timedelta

import pytest
from django.utils import timezone

from addons.models import Addon
from prefetch.follow.models import Play
from prefetch.follow.services import default_viewer
from prefetch.measured_effect import addon_effect, summary_lines
from prefetch.models import PrefetchRecord, PrefetchSettings, Run, RunStatus, UpcomingRelease
from prefetch.record_store import WARM_FOREVER, DatabaseRecordStore, warm_now, warm_until
from tests.helpers import prefetch_json

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db]


def record(video_id: str, addon_key: str = "a1", **fields) -> PrefetchRecord:
    now = timezone.now()
    values = {"addon_key": addon_key, "addon_name": "Comet", "content_type": "movie", "video_id": video_id,
              "last_attempt": now, "last_success": now, "stream_count": 3, "latency_ms": 40.0, **fields}
    return PrefetchRecord.objects.create(**values)


def measured(cold, warm, first=None, verified=20, failed=0) -> dict:
    return {"name": "Comet", "sampled": verified + failed, "verified": verified, "failed": failed,
            "cold_ms_p50": cold, "cold_ms_p95": cold, "warm_ms_p50": warm, "warm_ms_p95": warm, "first_ms_p50": first}


# --- the measured effect in words -------------------------------------------------------------------

def test_a_cold_run_reads_cold_to_warm_with_its_speed_up():
    effect = addon_effect(measured(2300, 80))
    assert effect.line == "Comet: cold p50 2.3 s → warm p50 80 ms (29× faster), 20 sampled"
    assert not effect.already_warm and effect.speedup == pytest.approx(28.75)


def test_a_run_over_titles_already_warm_says_so_instead_of_no_speed_up():
    effect = addon_effect(measured(42, 43))
    assert effect.line == "Comet: already warm before this run (p50 42 ms), 20 sampled"
    assert effect.already_warm and effect.speedup is None
    assert "cold" not in effect.line


def test_an_already_warm_run_compares_with_the_first_answer_recorded():
    line = addon_effect(measured(42, 43, first=2400)).line
    assert line == ("Comet: already warm before this run (p50 42 ms); first answer p50 2.4 s → warm p50 43 ms "
                    "(56× faster), 20 sampled")
    # a first answer as fast as a warm one was no uncached answer: nothing to compare with
    assert summary_lines({"addons": [measured(42, 43, first=45)]}) == [
        "Comet: already warm before this run (p50 42 ms), 20 sampled"]


@pytest.mark.django_db(transaction=True)  # the command's run writes from its own threads
def test_the_first_answer_is_kept_when_later_answers_come_and_is_what_verification_compares_with(make_peer):
    # Every stream answer takes 100 ms and a first (uncached) one 400 ms more: the two stay apart on a
    # loaded machine, where a few tens of milliseconds of noise would blur answers of a few ms.
    peer = make_peer(PEER_MOVIES=8, PEER_NEW_MOVIES=0, PEER_STREAM_LATENCY_MS=100, PEER_COLD_STREAM_MS=400)
    prefetch_json(peer, "--movies-per-catalog", "8", "--verify", "4")
    first = {r.video_id: r.first_latency_ms for r in PrefetchRecord.objects.all()}
    assert len(first) == 8 and all(ms >= 500 for ms in first.values())
    again = prefetch_json(peer, "--movies-per-catalog", "8", "--verify", "4")  # cache validity 0: all requested, warm
    [addon] = again["verification"]["addons"]
    assert addon["cold_ms_p50"] < 300  # the peer's cache was warm: this run's own answers were fast
    assert addon["first_ms_p50"] >= 500
    assert {r.video_id: r.first_latency_ms for r in PrefetchRecord.objects.all()} == first
    assert all(r.latency_ms < 300 for r in PrefetchRecord.objects.all())
    [line] = summary_lines(again["verification"])
    assert line.startswith("Peer Test Addon: already warm before this run (p50 ") and "; first answer p50 " in line


# --- warm now: one rule with what a run skips ------------------------------------------------------

def test_warm_now_counts_what_the_next_run_skips_and_what_expires_within_a_day():
    now = timezone.now()
    record("fresh", last_success=now - timedelta(hours=1))
    record("fresh", addon_key="a2", last_success=now - timedelta(days=6, hours=12))  # expires in 12 h
    record("old", last_success=now - timedelta(days=8))  # past the 7 days
    record("failed-only", last_success=None, last_error="HTTP 500")
    record("max-age", last_success=now, expires_at=now + timedelta(hours=2))
    assert warm_now(7 * 86400, False, 86400) == {"videos": 2, "addons": 2, "expiring": 1}
    # following Cache-Control: the answer's own expiry counts where it gave one
    assert warm_now(7 * 86400, True, 86400) == {"videos": 2, "addons": 2, "expiring": 2}
    assert warm_now(-1, False, 86400) == {"videos": 3, "addons": 2, "expiring": 0}
    assert warm_now(0, False, 86400) == {"videos": 0, "addons": 0, "expiring": 0}

    # the same rule as the run's look-up and as each record's "warm until"
    store = DatabaseRecordStore()
    for validity, auto in ((7 * 86400, False), (7 * 86400, True), (-1, False), (3600, True)):
        skipped = store.valid_keys(["a1", "a2"], "movie", ["fresh", "old", "failed-only", "max-age"], validity, auto)
        until = {(r.addon_key, r.video_id) for r in PrefetchRecord.objects.all()
                 if (w := warm_until(r, validity, auto)) is not None and w > now}
        assert skipped == until, (validity, auto)
    assert warm_until(PrefetchRecord.objects.get(video_id="old"), -1, False) == WARM_FOREVER


# --- pages -----------------------------------------------------------------------------------------

def test_the_empty_dashboard_has_one_last_run_and_no_measured_effect_yet(client, owner):
    client.force_login(owner)
    html = client.get("/").content.decode()
    assert html.count("Last run") == 0 and "No run yet." in html
    assert 'id="warm-now"' in html and "Nothing warm yet" in html
    assert 'id="measured-effect"' in html and "Appears after a run" in html
    assert 'id="hit-rate"' not in html and 'id="addon-health"' not in html  # no play, no addon yet
    assert "Dismiss" not in html and 'id="screen-finished"' not in html


def test_the_dashboard_shows_warm_now_the_effect_per_addon_the_hit_rate_and_the_last_run_in_one_line(client, owner):
    client.force_login(owner)
    now = timezone.now()
    record("tt1")
    record("tt2", last_success=now - timedelta(days=6, hours=20))
    for cold, warm in ((2300, 80), (42, 43)):
        last = Run.objects.create(status=RunStatus.COMPLETED, started_at=now, finished_at=now + timedelta(seconds=70),
                                  verification={"sample_size": 20, "addons": [measured(cold, warm)]})
    html = client.get("/").content.decode()
    assert '<strong id="warm-videos">2</strong> videos' in html
    assert '<strong id="warm-expiring">1</strong> expires within 24 h' in html
    assert "Comet: already warm before this run (p50 42 ms), 20 sampled" in html  # the latest, in words
    assert html.count("<rect") >= 2 + 2  # the effect over two runs, and the run trend
    assert "cold p50 2.3 s → warm p50 80 ms (29× faster)" in html  # the earlier run's, in its bar's title
    assert f'Last run: <a href="/runs/{last.pk}/">Run #{last.pk}</a>' in html and "took 1m 10s" in html

    assert 'id="hit-rate"' not in html  # nothing opened yet: no card for Follow what's watched
    viewer = default_viewer()
    for index, warm in enumerate((True, True, True, False)):
        Play.objects.create(viewer=viewer, content_type="movie", video_id=f"tt{index}", at=now, warm=warm,
                            miss_reason="" if warm else "expired")
    html = client.get("/").content.decode()
    assert '<strong id="hit-rate-percent">75 %</strong>' in html
    assert "Opened in the last 7 days: 3 of 4 warm — 75 %" in html


def test_records_say_warm_until_the_first_answer_and_why_a_failure_failed(client, owner):
    client.force_login(owner)
    now = timezone.now()
    record("tt1", title="Warm One", latency_ms=2300.0, first_latency_ms=2300.0, looked_cached=False)
    record("tt2", title="Broken", last_success=None, stream_count=None, last_status=500, last_error="HTTP 500")
    html = client.get("/records/").content.decode()
    until = timezone.localtime(now + timedelta(seconds=PrefetchSettings.load().cache_validity_s))
    assert "warm until <time" in html and f"{until:%Y-%m-%d %H:%M}" in html
    assert "last answer 2.3 s (uncached then)" in html and "first answer 2.3 s" in html
    assert "(cold)" not in html
    assert "failed · <span class=\"chip-error\">HTTP 500</span>" in html


def test_history_shows_the_zero_the_run_page_shows(client, owner):
    client.force_login(owner)
    now = timezone.now()
    Run.objects.create(status=RunStatus.COMPLETED, statistics={"movies_prefetched": 0, "series_prefetched": 2},
                       started_at=now, finished_at=now + timedelta(seconds=5))
    Run.objects.create(status=RunStatus.SKIPPED)
    rows = client.get("/runs/").content.decode().split('<tr data-run="')[1:]
    skipped, completed = rows
    assert "<td>0</td>" in completed and "<td>2</td>" in completed and "<td>–</td>" not in completed
    assert "<td>–</td><td>–</td><td>–</td>" in skipped  # counted nothing: no zeros it never counted


def test_upcoming_releases_say_airs_or_released_by_date(client, owner):
    client.force_login(owner)
    now = timezone.now()
    UpcomingRelease.objects.create(content_type="series", series_id="tt9", series_name="Show", video_id="tt9:1:1",
                                   label="S01E01", released_at=now - timedelta(minutes=10))
    UpcomingRelease.objects.create(content_type="series", series_id="tt9", series_name="Show", video_id="tt9:1:2",
                                   label="S01E02", released_at=now.replace(year=2099))
    html = client.get("/").content.decode()
    assert "<th>Release</th>" in html and "<th>Released</th>" not in html
    assert "released <time" in html and "airs <time datetime=\"2099" in html


def test_settings_say_what_the_delay_allows_and_parallel_requests_start_at_one(client, owner):
    client.force_login(owner)
    html = client.get("/settings/").content.decode()
    assert "at most 30 requests a minute per addon" in html  # the default 2 s
    assert "1 = one at a time" in html
    form = {"concurrency": "0"}
    from prefetch.web.forms import SettingsForm
    settings_form = SettingsForm(instance=PrefetchSettings.load())
    data = {**{key: value for key, value in settings_form.initial.items() if value is not None}, **form}
    bound = SettingsForm(data=data, instance=PrefetchSettings.load())
    assert bound["concurrency"].field.clean("1") == 1
    with pytest.raises(Exception) as refused:
        bound["concurrency"].field.clean("0")
    assert refused.value.messages == ["Use 1 or more."]
    with pytest.raises(Exception) as negative:
        bound["concurrency"].field.clean("-1")
    assert negative.value.messages == ["Use 1 or more."]
    from prefetch.web.forms import delay_allows
    assert delay_allows(0.5) == "Saved: at most 120 requests a minute per addon."
    assert delay_allows(90) == "Saved: at most one request every 1m 30s per addon."


def test_the_preview_of_a_url_already_configured_names_its_group(api, peer):
    Addon.objects.create(url=peer.url, role="catalog", name="Peer Test Addon")
    answer = api.post("/api/addon/manifest", {"url": peer.url}, format="json").json()
    assert answer["duplicate"] is True
    assert "already configured, in “Catalog only”" in answer["duplicate_message"]
