"""Following what is watched, wired: the companion addon (public, CORS, 404, rate limit), its lane
(the play judged, the next episodes warmed once), the hit rate of a scripted sequence, follow runs,
the accounts through the API against the watch stand-in, and secrets nowhere. Against the real peer."""

import json
import logging
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from addons.manifest import addon_key
from addons.models import Addon
from addons.redaction import RedactingFilter
from prefetch.engine.episodes import videos_from_meta
from prefetch.follow.accounts import poll_trakt_device
from prefetch.follow.episodes import SeriesEpisodes
from prefetch.follow.lane import companion_play
from prefetch.follow.models import LaneWarm, Play, StremioLink, Target, TraktLink, Viewer
from prefetch.follow.plays import plays_summary, summary_line
from prefetch.follow.services import default_viewer
from prefetch.follow.sources.stremio_account import StremioAccount
from prefetch.follow.tasks import sync
from prefetch.models import PrefetchRecord, Run, RunStatus, RunTrigger
from prefetch.runs.execute import execute_run
from tests.helpers import addon, configure, plan, wait_until, without_meta
from tests.watch_standin import CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD, SCENARIO, SERIES, TRAKT_USER, aired_after

pytestmark = [pytest.mark.postgresql, pytest.mark.django_db(transaction=True)]



@pytest.fixture
def warmed_peer(make_peer):
    peer = make_peer()
    configure(peer.url, [("series", "peer-series")], cache_validity_s=7 * 86400)
    return peer


# --- the companion addon -----------------------------------------------------------------------------
def test_companion_manifest_is_the_stream_addons_scope_with_open_cors(client, warmed_peer):
    viewer = default_viewer()
    answer = client.get(f"/watch/{viewer.companion_secret}/manifest.json")
    assert answer.status_code == 200 and answer["Access-Control-Allow-Origin"] == "*"
    manifest = answer.json()
    assert manifest["resources"] == [{"name": "stream", "types": ["movie", "other", "series"],
                                      "idPrefixes": ["peer:", "tt"]}]
    assert manifest["catalogs"] == [] and manifest["types"] == ["movie", "other", "series"]
    preflight = client.options(f"/watch/{viewer.companion_secret}/manifest.json")
    assert preflight.status_code == 204 and preflight["Access-Control-Allow-Origin"] == "*"


def test_companion_stream_answers_empty_at_once_and_a_wrong_secret_is_404(client, api, warmed_peer):
    viewer = default_viewer()
    answer = client.get(f"/watch/{viewer.companion_secret}/stream/series/{SERIES}%3A1%3A4.json")
    assert answer.status_code == 200 and answer.json() == {"streams": []}
    assert answer["Access-Control-Allow-Origin"] == "*"
    assert client.get(f"/watch/not-{viewer.companion_secret}/manifest.json").status_code == 404
    assert client.get("/watch/x/stream/movie/tt1.json").status_code == 404
    renewed = api.post("/api/follow/secret").json()["addon_url"]
    assert client.get(f"/watch/{viewer.companion_secret}/manifest.json").status_code == 404
    assert renewed.endswith(f"/watch/{Viewer.objects.get().companion_secret}/manifest.json")
    assert client.get(renewed.split("testserver", 1)[1]).status_code == 200


def test_companion_is_rate_limited_per_client(client, settings, warmed_peer):
    settings.COMPANION_RATE_PER_MINUTE = 5
    path = f"/watch/{default_viewer().companion_secret}/manifest.json"
    statuses = [client.get(path, REMOTE_ADDR="10.0.0.7").status_code for _ in range(7)]
    assert statuses == [200] * 5 + [429] * 2
    assert client.get(path, REMOTE_ADDR="10.0.0.8").status_code == 200  # another client


# --- the lane --------------------------------------------------------------------------------------
def test_a_play_warms_the_next_episodes_once_and_opening_one_of_them_is_a_warm_hit(warmed_peer):
    viewer = default_viewer()
    expected = aired_after(warmed_peer, SERIES, 1, 4, 2)
    warmed = companion_play(viewer.pk, "series", f"{SERIES}:1:4", timezone.now())
    assert warmed == expected
    assert Counter(e["id"] for e in warmed_peer.requests("stream")) == Counter(expected)
    play = Play.objects.get()
    assert (play.video_id, play.warm, play.miss_reason) == (f"{SERIES}:1:4", False, "never warmed")

    warmed_peer.reset()
    companion_play(viewer.pk, "series", expected[0], timezone.now())  # the next one, opened
    hit = Play.objects.get(video_id=expected[0])
    assert (hit.warm, hit.miss_reason, hit.warmed_by) == (True, "", "next episode")
    # of its next two, the one the first play warmed is still warm: only the other is requested
    season, episode = map(int, expected[0].split(":")[1:])
    following = aired_after(warmed_peer, SERIES, season, episode, 2)
    assert following[0] == expected[1]
    assert [e["id"] for e in warmed_peer.requests("stream")] == following[1:]
    assert LaneWarm.objects.count() == 3


def test_series_episodes_come_from_the_fallback_meta_addon_when_no_configured_addon_serves_the_meta(peer, make_peer):
    fallback = make_peer()
    episodes = SeriesEpisodes(plan([without_meta(addon(peer.url, "stream"))], [], fallback_meta_url=fallback.url))
    videos = episodes(SERIES)
    assert episodes("tt9200015")
    assert len(fallback.requests("meta")) == 2 and not peer.requests("meta")
    assert len(fallback.requests("manifest")) == 1  # looked up once for both series
    assert videos == videos_from_meta(peer.get(f"/meta/series/{SERIES}.json")["meta"], SERIES).videos


def test_play_and_hit_counts_of_a_scripted_sequence(warmed_peer, settings):
    viewer = default_viewer()
    addon = Addon.objects.get()
    key = addon_key(addon.url)
    now = timezone.now()
    record = {"addon_key": key, "addon_name": "peer", "content_type": "movie", "last_attempt": now}
    PrefetchRecord.objects.bulk_create([
        PrefetchRecord(video_id="tt9100001", last_success=now, stream_count=3, **record),  # warm
        PrefetchRecord(video_id="tt9100002", last_success=now - timedelta(days=30), stream_count=3,
                       **{**record, "last_attempt": now - timedelta(days=30)}),  # expired (validity 7 d)
        PrefetchRecord(video_id="tt9100003", last_success=None, last_error="HTTP 500", **record),  # failed
    ])
    Run.objects.create(trigger=RunTrigger.SCHEDULE, status=RunStatus.COMPLETED, started_at=now - timedelta(minutes=1),
                       finished_at=now + timedelta(minutes=1))
    sequence = [("movie", "tt9100001", 0), ("movie", "tt9100001", 5),  # the same play twice within 10 min
                ("movie", "tt9100001", 11), ("movie", "tt9100002", 0), ("movie", "tt9100003", 0),
                ("movie", "tt9100004", 0), ("tv", "tt9100005", 0), ("movie", "nope:1", 0)]
    for content_type, video_id, minutes in sequence:
        companion_play(viewer.pk, content_type, video_id, now + timedelta(minutes=minutes))
    summary = plays_summary(7, now=now + timedelta(minutes=20))
    assert (summary["plays"], summary["warm"], summary["hit_rate"]) == (7, 2, round(2 / 7, 4))
    assert sorted((m["video_id"], m["reason"]) for m in summary["misses"]) == [
        ("nope:1", "not served"), ("tt9100002", "expired"), ("tt9100003", "failed"), ("tt9100004", "never warmed"),
        ("tt9100005", "not served")]
    assert summary["warmed_by"] == {"catalog": 2}
    assert summary_line(summary) == "Opened in the last 7 days: 2 of 7 warm — 29 %"
    assert not warmed_peer.requests("stream")  # movies have no next episode


def test_plays_api_and_metrics(api, warmed_peer, client, owner):
    viewer = default_viewer()
    now = timezone.now()
    Play.objects.bulk_create([Play(viewer=viewer, content_type="movie", video_id=f"tt91{n}", at=now, warm=n < 3,
                                   miss_reason="" if n < 3 else "never warmed") for n in range(4)]
                             + [Play(viewer=viewer, content_type="movie", video_id="tt99", warm=True,
                                     at=now - timedelta(days=8))])
    answer = api.get("/api/follow/plays", {"days": 7}).json()
    assert (answer["plays"], answer["warm"], answer["hit_rate"]) == (4, 3, 0.75)
    assert answer["misses"][0]["video_id"] == "tt913" and answer["misses"][0]["reason"] == "never warmed"
    assert api.get("/api/follow/plays", {"days": 0}).status_code == 400
    client.force_login(owner)
    assert "Opened in the last 7 days: 3 of 4 warm — 75 %" in client.get("/").content.decode()
    metrics = client.get("/metrics").content.decode()
    assert 'prefetcher_plays_total{warm="true"} 4.0' in metrics and 'prefetcher_plays_total{warm="false"} 1.0' in metrics


# --- follow runs -------------------------------------------------------------------------------------
def test_a_follow_run_requests_each_cold_target_once(api, warmed_peer):
    viewer = default_viewer()
    now = timezone.now()
    videos = [("series", f"{SERIES}:1:2"), ("series", f"{SERIES}:1:3"), ("series", "tt9200004:1:1"),
              ("movie", "tt9100012"), ("movie", "tt9100013")]
    Target.objects.bulk_create([Target(viewer=viewer, content_type=t, video_id=v, source="stremio", reason="r",
                                       computed_at=now) for t, v in videos])
    other = Viewer.objects.create(name="Guest")  # the same video for two viewers: one request
    Target.objects.create(viewer=other, content_type="movie", video_id="tt9100012", source="trakt", reason="r",
                          computed_at=now)
    answer = api.post("/api/follow/warm").json()
    run = Run.objects.get(pk=answer["id"])
    assert run.trigger == RunTrigger.FOLLOW
    run = execute_run(run.pk)
    assert run.status == RunStatus.COMPLETED, run.error
    assert Counter(e["id"] for e in warmed_peer.requests("stream")) == Counter(v for _, v in videos)
    assert not warmed_peer.requests("catalog") and not warmed_peer.requests("meta")
    assert api.get(f"/api/runs/{run.pk}").json()["run"]["statistics"]["episodes_prefetched"] == 3
    assert api.post("/api/follow/warm").json() == {"success": True, "id": None,
                                                   "message": "Every target is warm already."}


# --- accounts, through the API, against the stand-in ----------------------------------------------
@pytest.fixture
def start_standin(make_standin, warmed_peer, settings):
    """A stand-in with the household's scenario and the given knobs, the app pointed at it."""
    def start(**knobs):
        server = make_standin(SCENARIO, meta_url=warmed_peer.base, **knobs)
        settings.STREMIO_API_URL = settings.TRAKT_API_URL = server.url
        settings.TRAKT_CLIENT_ID, settings.TRAKT_CLIENT_SECRET = CLIENT_ID, CLIENT_SECRET
        return server
    return start


@pytest.fixture
def standin(start_standin):
    return start_standin()


def test_stremio_sign_in_sync_and_sign_out(api, standin, warmed_peer):
    wrong = api.post("/api/follow/stremio", {"email": EMAIL, "password": "nope"}, format="json")
    assert wrong.status_code == 400 and "Wrong passphrase" in wrong.json()["error"]
    assert api.post("/api/follow/stremio", {"email": EMAIL}, format="json").json()["errors"] == {
        "password": ["Enter a value."]}
    signed = api.post("/api/follow/stremio", {"email": EMAIL, "password": PASSWORD}, format="json")
    assert signed.status_code == 200 and signed.json()["stremio"]["connected"] is True
    assert api.post("/api/follow/sync").json()["errors"] == {}
    targets = api.get("/api/follow/targets").json()
    expected = [f"{SERIES}:1:4", *aired_after(warmed_peer, SERIES, 1, 4, 2), "tt9100012"]
    assert sorted(t["video_id"] for t in targets) == sorted(expected)
    assert {t["source"] for t in targets} == {"stremio"}
    state = api.get("/api/follow").json()
    assert state["stremio"]["email"] == EMAIL
    assert state["stremio"]["summary"].startswith(f"Stremio: connected as {EMAIL}, library read")
    auth_key = StremioLink.objects.get().auth_key
    assert api.delete("/api/follow/stremio").status_code == 200
    assert not StremioLink.objects.exists() and not Target.objects.exists()
    assert any(e["path"] == "/api/logout" for e in standin.log())
    with_key = api.post("/api/follow/stremio", {"auth_key": auth_key}, format="json")
    assert with_key.status_code == 400 and "sign in again" in with_key.json()["error"]


def test_a_pasted_authkey_is_connected_as_the_account_stremio_names(api, standin, client, owner):
    pasted = StremioAccount(standin.url).sign_in(EMAIL, PASSWORD).auth_key  # as copied from a Stremio app
    connected = api.post("/api/follow/stremio", {"auth_key": pasted}, format="json").json()["stremio"]
    assert connected["email"] == EMAIL
    assert connected["summary"] == f"Stremio: connected as {EMAIL}, library not read yet"
    assert [e["path"] for e in standin.log()][-1] == "/api/getUser"
    client.force_login(owner)
    assert f"Stremio: connected as {EMAIL}, library not read yet" in client.get("/follow/").content.decode()


def connect_trakt(api) -> dict:
    """The device flow as the page drives it, the approval given on the stand-in's first pending
    answer; polls are not held to the stored interval (`now` ahead), the stand-in holds them to its own."""
    started = api.post("/api/follow/trakt/device").json()
    viewer = default_viewer()

    def connected():
        poll_trakt_device(viewer, now=timezone.now() + timedelta(minutes=1))
        return TraktLink.objects.get().connected

    wait_until(connected, timeout=15, interval=0.3, message="the device code to be approved")
    return started


def settings_reads(standin) -> list[int]:
    return [e["status"] for e in standin.log() if e["path"] == "/users/settings"]


def test_trakt_device_flow_sync_and_disconnect(api, standin, client, owner):
    started = connect_trakt(api)
    assert started["user_code"] and started["verification_url"] and started["expires_in"] > 0
    assert [e["status"] for e in standin.log() if e["path"] == "/oauth/device/token"][0] == 400  # pending first
    trakt = api.get("/api/follow/trakt/device").json()["trakt"]
    assert trakt["connected"] is True and trakt["username"] == TRAKT_USER
    assert trakt["summary"] == f"Trakt: connected as {TRAKT_USER}, not read yet"
    assert api.get("/api/follow").json()["trakt"]["username"] == TRAKT_USER
    client.force_login(owner)
    assert f"Trakt: connected as {TRAKT_USER}, not read yet" in client.get("/follow/").content.decode()
    assert settings_reads(standin) == [200]
    assert api.post("/api/follow/sync").json()["errors"] == {}
    assert settings_reads(standin) == [200, 200]  # each sync reads it again: a renamed account shows its new name
    assert sorted(t["video_id"] for t in api.get("/api/follow/targets").json()) == ["tt9100030", "tt9100040"]
    assert api.delete("/api/follow/trakt").status_code == 200
    assert not TraktLink.objects.exists()
    assert any(e["path"] == "/oauth/revoke" for e in standin.log())


def test_trakt_stays_connected_without_a_name_when_trakt_does_not_say_who(api, start_standin, caplog, client, owner):
    standin = start_standin(STANDIN_FAIL_PATHS="/users/settings")
    connect_trakt(api)
    trakt = api.get("/api/follow").json()["trakt"]
    assert (trakt["connected"], trakt["username"], trakt["last_error"]) == (True, "", "")
    assert trakt["summary"] == "Trakt: connected, not read yet"
    client.force_login(owner)
    assert "Trakt: connected, not read yet" in client.get("/follow/").content.decode()
    failed = "Trakt account name for Household not read: Trakt: the service failed (HTTP 500)"
    assert [r.getMessage() for r in caplog.records if r.name == "prefetch.follow" and r.levelname == "WARNING"] == [
        failed]
    assert api.post("/api/follow/sync").json()["errors"] == {}  # the sync reads the rest as ever
    assert sorted(t["video_id"] for t in api.get("/api/follow/targets").json()) == ["tt9100030", "tt9100040"]
    trakt = api.get("/api/follow").json()["trakt"]
    assert (trakt["connected"], trakt["username"], trakt["last_error"]) == (True, "", "")
    assert trakt["summary"].startswith("Trakt: connected, read ")
    assert settings_reads(standin) == [500, 500]


def test_secrets_nowhere(api, standin, caplog, client, owner):
    caplog.set_level(logging.DEBUG)
    api.post("/api/follow/stremio", {"email": EMAIL, "password": PASSWORD}, format="json")
    connect_trakt(api)
    viewer = default_viewer()
    api.post("/api/follow/sync")
    link, trakt = StremioLink.objects.get(), TraktLink.objects.get()
    secrets = [link.auth_key, trakt.access_token, trakt.refresh_token, PASSWORD]
    assert all(secrets)
    client.force_login(owner)
    logging.getLogger("django.request").warning("Not Found: /watch/%s/manifest.json", viewer.companion_secret)
    logging.getLogger("uvicorn.access").info('%s - "%s %s HTTP/%s" %d', "10.0.0.7:5000", "GET",
                                             f"/watch/{viewer.companion_secret}/stream/series/tt1%3A1%3A2.json", "1.1", 200)
    shown = [client.get("/follow/").content.decode(), json.dumps(api.get("/api/follow").json()),
             json.dumps(api.get("/api/follow/targets").json())]
    out = StringIO()
    call_command("export_config", stdout=out)
    exported = out.getvalue()
    redacting = RedactingFilter()
    logged = "\n".join(record.getMessage() for record in caplog.records if redacting.filter(record))
    for secret in [*secrets, viewer.companion_secret]:
        assert secret not in exported and secret not in logged, secret
    for secret in secrets:
        assert not any(secret in text for text in shown), secret
    assert "/watch/***/manifest.json" in logged and '"GET /watch/***/stream/series/tt1%3A1%3A2.json' in logged


def test_warm_now_while_a_run_is_active_is_a_409_and_starts_nothing(api, warmed_peer):
    Target.objects.create(viewer=default_viewer(), content_type="movie", video_id="tt9100012", source="stremio",
                          reason="r", computed_at=timezone.now())
    Run.objects.create(status=RunStatus.RUNNING, started_at=timezone.now(), worker="elsewhere")
    answer = api.post("/api/follow/warm")
    assert answer.status_code == 409 and answer.json()["error"] == "A run is already active."
    assert not Run.objects.filter(trigger=RunTrigger.FOLLOW).exists()


def test_the_beat_sync_starts_a_follow_run_when_something_is_cold_and_none_when_all_is_warm(api, standin):
    api.post("/api/follow/stremio", {"email": EMAIL, "password": PASSWORD}, format="json")
    sync()
    run = Run.objects.get(trigger=RunTrigger.FOLLOW)
    assert sorted(video for _, video in run.options["follow_targets"]) == sorted(
        t.video_id for t in Target.objects.all())
    assert execute_run(run.pk).status == RunStatus.COMPLETED
    sync()  # everything is warm now
    assert Run.objects.filter(trigger=RunTrigger.FOLLOW).count() == 1


# --- several viewers ---------------------------------------------------------------------------------
def test_viewers_are_added_and_renamed_with_their_names_checked(api, client, owner):
    household = default_viewer()
    assert api.post("/api/follow/viewers", {"name": " "}, format="json").json()["errors"] == {
        "name": ["This field may not be blank."]}
    assert api.post("/api/follow/viewers", {"name": "x" * 101}, format="json").json()["errors"] == {
        "name": ["Ensure this field has no more than 100 characters."]}
    assert api.post("/api/follow/viewers", {"name": "HOUSEHOLD"}, format="json").json()["errors"] == {
        "name": ["Another viewer has this name."]}
    assert api.post("/api/follow/viewers", {"nick": "Alex"}, format="json").status_code == 400
    added = api.post("/api/follow/viewers", {"name": "Alex"}, format="json")
    assert added.status_code == 201
    alex = Viewer.objects.get(name="Alex")
    assert (added.json()["id"], added.json()["stremio"]["connected"]) == (alex.pk, False)
    assert added.json()["addon_url"].endswith(f"/watch/{alex.companion_secret}/manifest.json")
    assert alex.companion_secret != household.companion_secret

    assert api.patch(f"/api/follow/viewers/{alex.pk}", {"name": "household"}, format="json").json()["errors"] == {
        "name": ["Another viewer has this name."]}
    assert api.patch(f"/api/follow/viewers/{alex.pk}", {"name": "Sam"}, format="json").json()["viewer"] == "Sam"
    assert api.patch(f"/api/follow/viewers/{alex.pk}", {"name": "Sam"}, format="json").status_code == 200  # its own
    listed = api.get("/api/follow/viewers").json()["viewers"]
    assert [(v["id"], v["viewer"]) for v in listed] == [(household.pk, "Household"), (alex.pk, "Sam")]
    assert api.patch("/api/follow/viewers/99999", {"name": "Kim"}, format="json").status_code == 404
    assert api.get("/api/follow", {"viewer": 99999}).status_code == 404
    assert api.get("/api/follow", {"viewer": "abc"}).json()["errors"] == {"viewer": ["A valid integer is required."]}
    assert api.get("/api/follow").json()["id"] == household.pk  # no viewer named: the first one
    client.force_login(owner)
    assert client.get("/follow/", {"viewer": "abc"}).status_code == 404
    page = client.get("/follow/", {"viewer": alex.pk}).content.decode()
    assert "Companion addon of <span id=\"viewer-name\">Sam</span>" in page and alex.companion_secret in page


def test_a_pasted_authkey_connects_the_chosen_viewer_and_deleting_them_signs_out(api, standin, client):
    default_viewer()
    alex = Viewer.objects.get(pk=api.post("/api/follow/viewers", {"name": "Alex"}, format="json").json()["id"])
    pasted = StremioAccount(standin.url).sign_in(EMAIL, PASSWORD).auth_key
    connected = api.post(f"/api/follow/stremio?viewer={alex.pk}", {"auth_key": pasted}, format="json")
    assert connected.json()["stremio"]["email"] == EMAIL
    assert StremioLink.objects.get().viewer == alex
    assert api.get("/api/follow").json()["stremio"]["connected"] is False  # the first viewer's
    assert api.get("/api/follow", {"viewer": alex.pk}).json()["stremio"]["connected"] is True
    assert api.post(f"/api/follow/sync?viewer={alex.pk}").json()["errors"] == {}
    assert api.get("/api/follow/targets", {"viewer": alex.pk}).json() and not api.get("/api/follow/targets").json()

    standin_calls = len(standin.log())
    assert api.delete(f"/api/follow/viewers/{alex.pk}").status_code == 200
    assert [e["path"] for e in standin.log()[standin_calls:]] == ["/api/logout"]  # signed out as on disconnect
    assert not Viewer.objects.filter(pk=alex.pk).exists()
    assert not StremioLink.objects.exists() and not Target.objects.exists()
    assert client.get(f"/watch/{alex.companion_secret}/manifest.json").status_code == 404
    assert api.delete(f"/api/follow/viewers/{alex.pk}").status_code == 404


def test_the_beat_sync_warms_the_targets_of_every_viewer(api, standin, warmed_peer):
    connect_trakt(api)  # the first viewer: Trakt
    alex = api.post("/api/follow/viewers", {"name": "Alex"}, format="json").json()["id"]
    api.post(f"/api/follow/stremio?viewer={alex}", {"email": EMAIL, "password": PASSWORD}, format="json")
    sync()
    trakt_targets = {t["video_id"] for t in api.get("/api/follow/targets").json()}
    stremio_targets = {t["video_id"] for t in api.get("/api/follow/targets", {"viewer": alex}).json()}
    assert trakt_targets == {"tt9100030", "tt9100040"} and f"{SERIES}:1:4" in stremio_targets
    run = Run.objects.get(trigger=RunTrigger.FOLLOW)
    assert execute_run(run.pk).status == RunStatus.COMPLETED
    assert {e["id"] for e in warmed_peer.requests("stream")} == trakt_targets | stremio_targets


def test_the_hit_rate_is_the_households_with_each_viewers_share(api, client, owner):
    household, guest = default_viewer(), Viewer.objects.create(name="Guest")
    now = timezone.now()
    Play.objects.bulk_create([Play(viewer=household, content_type="movie", video_id="tt1", at=now, warm=True),
                              Play(viewer=household, content_type="movie", video_id="tt2", at=now, warm=False,
                                   miss_reason="expired"),
                              Play(viewer=guest, content_type="movie", video_id="tt3", at=now, warm=True)])
    answer = api.get("/api/follow/plays").json()
    assert (answer["plays"], answer["warm"]) == (3, 2)
    assert answer["viewers"] == [{"viewer": "Household", "plays": 2, "warm": 1},
                                 {"viewer": "Guest", "plays": 1, "warm": 1}]
    client.force_login(owner)
    page = client.get("/follow/", {"viewer": guest.pk}).content.decode()
    assert "Opened in the last 7 days: 2 of 3 warm" in page
    assert "By viewer:\n    Household 1 of 2 warm, Guest 1 of 1 warm" in page
