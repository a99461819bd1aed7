"""The Stremio account and Trakt clients against the real stand-in of both services (tests/standin),
whose episodes come from the real test peer's meta; and the targets of a scenario, end to end."""

import json
import logging
import time
import urllib.request
from datetime import datetime, timedelta, timezone

import pytest
import requests

from prefetch.engine.episodes import videos_from_meta
from prefetch.follow.sources.service import REFUSED, SIGNED_OUT, UNAVAILABLE, UNREACHABLE, ServiceError
from prefetch.follow.sources.stremio_account import LibraryItem, StremioAccount
from prefetch.follow.sources.targets import Target, Upcoming, collect_targets
from prefetch.follow.sources.trakt import (
    APPROVED,
    DENIED,
    EXPIRED,
    PENDING,
    SLOW_DOWN,
    UNKNOWN,
    USED,
    TraktApp,
    TraktTokens,
)
from tests.helpers import free_port
from tests.watch_standin import CLIENT_ID, CLIENT_SECRET, EMAIL, PASSWORD

STREMIO_LIBRARY = {"stremio": {"library": [{"id": "tt9200003", "type": "series", "video_id": "tt9200003:1:4",
                                            "progress": 0.42}]}}


@pytest.fixture(autouse=True)
def every_log_line(caplog):
    """Each test here also checks that no secret reached a log line (requests/urllib3 log every call)."""
    caplog.set_level(logging.DEBUG)


def assert_not_shown(secrets: list[str], caplog, *texts: str) -> None:
    shown = caplog.text + "\n".join(texts)
    assert shown and [secret for secret in secrets if secret in shown] == []


class Waits(list):
    """An injected sleep: records what the client would have waited, waits nothing."""

    def __call__(self, seconds: float) -> None:
        self.append(seconds)


# --- Stremio account -----------------------------------------------------------------------------

def test_stremio_sign_in_library_and_sign_out(make_standin, caplog):
    standin = make_standin(STREMIO_LIBRARY)
    account = StremioAccount(standin.url)

    with pytest.raises(ServiceError) as wrong:
        account.sign_in(EMAIL, "not-the-password")
    assert str(wrong.value) == "Stremio: Wrong passphrase" and wrong.value.kind == REFUSED

    signed_in = account.sign_in(EMAIL, PASSWORD)
    assert signed_in.email == EMAIL
    assert account.user(signed_in.auth_key).email == EMAIL  # a pasted authKey is checked the same way
    [item] = account.library(signed_in.auth_key)
    assert isinstance(item, LibraryItem)
    assert (item.id, item.type, item.video_id, item.removed, item.temp) == (
        "tt9200003", "series", "tt9200003:1:4", False, False)
    assert (item.time_offset_ms, item.duration_ms) == (1_134_000, 2_700_000)
    assert item.last_watched and datetime.now(timezone.utc) - item.last_watched < timedelta(hours=4)

    account.sign_out(signed_in.auth_key)
    for call in (account.user, account.library):
        with pytest.raises(ServiceError) as gone:
            call(signed_in.auth_key)
        assert str(gone.value) == "Stremio: signed out: sign in again" and gone.value.kind == SIGNED_OUT
    account.sign_out(signed_in.auth_key)  # already signed out: nothing to do
    with pytest.raises(ServiceError) as pasted:
        account.user("0123456789abcdef-not-a-session")
    assert pasted.value.kind == SIGNED_OUT
    assert_not_shown([PASSWORD, signed_in.auth_key], caplog, str(wrong.value), str(gone.value))
    assert [entry["path"] for entry in standin.log()] == [
        "/api/login", "/api/login", "/api/getUser", "/api/datastoreGet", "/api/logout", "/api/getUser",
        "/api/datastoreGet", "/api/logout", "/api/getUser"]


def test_stremio_unreachable_slow_and_failing_are_said_plainly(make_standin):
    port = free_port()
    with pytest.raises(ServiceError) as refused:
        StremioAccount(f"http://127.0.0.1:{port}").sign_in(EMAIL, PASSWORD)
    assert str(refused.value) == f"Stremio: cannot connect to 127.0.0.1:{port}"
    assert refused.value.kind == UNREACHABLE

    slow = make_standin({}, STANDIN_LATENCY_MS=3000)
    with pytest.raises(ServiceError) as timed_out:
        StremioAccount(slow.url, timeout_s=0.2).sign_in(EMAIL, PASSWORD)
    assert str(timed_out.value) == f"Stremio: no answer from {slow.url[7:]} within 0.2 s"

    failing = make_standin({}, STANDIN_FAIL_EVERY=1)
    waits = Waits()
    with pytest.raises(ServiceError) as busy:
        StremioAccount(failing.url, sleep=waits).sign_in(EMAIL, PASSWORD)
    assert str(busy.value) == "Stremio: still busy after 3 tries (HTTP 503); try again later"
    assert busy.value.kind == UNAVAILABLE and waits == [1.0, 1.0]  # Retry-After: 1, twice
    assert [entry["status"] for entry in failing.log()] == [503, 503, 503]


def test_stremio_rides_out_one_503_after_its_retry_after(make_standin):
    standin = make_standin({}, STANDIN_FAIL_EVERY=2)
    waits = Waits()
    account = StremioAccount(standin.url, sleep=waits)
    signed_in = account.sign_in(EMAIL, PASSWORD)
    assert account.library(signed_in.auth_key) == []
    assert waits == [1.0]
    assert [(entry["path"], entry["status"]) for entry in standin.log()] == [
        ("/api/login", 200), ("/api/datastoreGet", 503), ("/api/datastoreGet", 200)]


# --- Trakt ---------------------------------------------------------------------------------------

def trakt_app(standin, **options) -> TraktApp:
    return TraktApp(standin.url, CLIENT_ID, CLIENT_SECRET, **options)


def connect(app: TraktApp) -> TraktTokens:
    """The device flow as the app runs it: poll at the announced interval until it finishes."""
    code = app.start_device()
    deadline = time.monotonic() + 30
    while True:
        poll = app.poll_device(code.device_code, code.interval)
        if poll.finished:
            assert poll.state == APPROVED, poll.message
            return poll.tokens
        assert time.monotonic() < deadline, "the device flow did not finish"
        time.sleep(poll.interval_s)  # the protocol's own pace, announced by the service


def test_trakt_device_flow_pending_approved_then_used(make_standin, caplog):
    standin = make_standin({}, STANDIN_DEVICE_APPROVE="manual")
    app = trakt_app(standin)
    code = app.start_device()
    assert (code.verification_url, code.expires_in, code.interval) == ("https://trakt.tv/activate", 600, 1)
    assert len(code.user_code) == 8

    first = app.poll_device(code.device_code, code.interval)
    assert (first.state, first.interval_s, first.tokens, first.finished) == (PENDING, 1, None, False)
    standin.approve()
    time.sleep(first.interval_s)  # the announced interval, as the flow requires (the stand-in checks it)
    approved = app.poll_device(code.device_code, first.interval_s)
    assert approved.state == APPROVED and approved.tokens.expires_at > time.time() + 80 * 24 * 3600
    again = app.poll_device(code.device_code, code.interval)
    assert (again.state, again.message) == (USED, "the code was already used: start again")
    assert [entry["status"] for entry in standin.log()] == [200, 400, 200, 409]
    tokens = approved.tokens
    assert_not_shown([code.device_code, tokens.access_token, tokens.refresh_token, CLIENT_SECRET], caplog,
                     repr(approved), repr(code))


def test_trakt_device_flow_polled_too_fast_slows_down(make_standin):
    app = trakt_app(make_standin({}, STANDIN_DEVICE_INTERVAL_S=30))
    code = app.start_device()
    assert app.poll_device(code.device_code, code.interval).state == PENDING
    too_fast = app.poll_device(code.device_code, code.interval)  # at once, not after 30 s
    assert (too_fast.state, too_fast.interval_s, too_fast.finished) == (SLOW_DOWN, 35, False)
    assert app.poll_device(code.device_code, too_fast.interval_s).state == SLOW_DOWN  # still too soon


@pytest.mark.parametrize(("env", "state", "message"), [
    ({"STANDIN_DEVICE_APPROVE": "deny"}, DENIED, "the code was denied on Trakt"),
    ({"STANDIN_DEVICE_EXPIRES_S": 0}, EXPIRED, "the code expired: start again"),
])
def test_trakt_device_flow_denied_and_expired(make_standin, env, state, message):
    app = trakt_app(make_standin({}, **env))
    poll = app.poll_device(app.start_device().device_code, 1)
    assert (poll.state, poll.message, poll.finished, poll.tokens) == (state, message, True, None)


def test_trakt_device_flow_unknown_code_and_refused_app(make_standin):
    standin = make_standin({})
    assert trakt_app(standin).poll_device("not-a-code", 5).state == UNKNOWN
    with pytest.raises(ServiceError) as refused:
        TraktApp(standin.url, CLIENT_ID, "wrong-secret").poll_device("not-a-code", 5)
    assert str(refused.value) == ("Trakt: the app's client id or secret was refused "
                                  "(TRAKT_CLIENT_ID, TRAKT_CLIENT_SECRET)") and refused.value.kind == REFUSED
    with pytest.raises(ServiceError) as unknown_app:
        TraktApp(standin.url, "not-our-app", CLIENT_SECRET).start_device()
    assert unknown_app.value.kind == REFUSED and "wrong-secret" not in str(refused.value)


def test_trakt_tokens_are_refreshed_before_they_expire(make_standin, caplog):
    standin = make_standin({"trakt": {"watchlist": {"movies": ["tt9100040"]}}}, STANDIN_TRAKT_TOKEN_TTL_S=60)
    app = trakt_app(standin)
    tokens = connect(app)
    stored = []
    session = app.session(tokens, stored.append)  # 60 s left, within the default margin of an hour
    assert [movie.imdb for movie in session.watchlist_movies()] == ["tt9100040"]
    assert len(stored) == 1 and stored[0] == session.tokens and stored[0].access_token != tokens.access_token
    assert session.tokens.expires_at == pytest.approx(time.time() + 60, abs=5)
    paths = [(entry["path"], entry["status"]) for entry in standin.log()]
    assert paths[-2:] == [("/oauth/token", 200), ("/sync/watchlist/movies", 200)]

    # the old pair stopped working: a session still holding it must connect again
    stale = app.session(tokens, stored.append, refresh_margin_s=0)
    with pytest.raises(ServiceError) as refused:
        stale.watchlist_movies()
    assert str(refused.value) == "Trakt: token refused — connect again" and refused.value.kind == SIGNED_OUT
    assert len(stored) == 1
    assert_not_shown([tokens.access_token, tokens.refresh_token, stored[0].access_token, stored[0].refresh_token,
                      CLIENT_SECRET], caplog, str(refused.value), repr(session))


def test_trakt_refreshes_once_on_a_401_then_revokes(make_standin):
    standin = make_standin({"trakt": {"watchlist": {"movies": ["tt9100040"]}}})
    app = trakt_app(standin)
    stored = []
    session = app.session(connect(app), stored.append, refresh_margin_s=0)
    standin.expire_tokens()
    assert [movie.imdb for movie in session.watchlist_movies()] == ["tt9100040"]
    assert len(stored) == 1
    assert [(entry["path"], entry["status"]) for entry in standin.log()][-3:] == [
        ("/sync/watchlist/movies", 401), ("/oauth/token", 200), ("/sync/watchlist/movies", 200)]

    app.revoke(session.tokens)
    revoked = requests.get(standin.url + "/sync/watchlist/movies", timeout=10, headers={
        **app.headers, "Authorization": f"Bearer {session.tokens.access_token}"})
    assert revoked.status_code == 401


def test_trakt_username_is_read_from_the_user_settings(make_standin, caplog):
    standin = make_standin({"trakt": {"user": "SamWatches", "name": "Sam"}})
    app = trakt_app(standin)
    tokens = connect(app)
    assert app.session(tokens).username() == "SamWatches"  # the username, not the slug (samwatches) or the name
    assert [(entry["path"], entry["status"], entry["authorized"]) for entry in standin.log()][-1] == (
        "/users/settings", 200, True)

    failing = make_standin({}, STANDIN_FAIL_PATHS="/users/settings")
    app = trakt_app(failing)
    with pytest.raises(ServiceError) as failed:
        app.session(connect(app)).username()
    assert str(failed.value) == "Trakt: the service failed (HTTP 500)" and failed.value.kind == UNAVAILABLE
    assert_not_shown([tokens.access_token, tokens.refresh_token, CLIENT_SECRET], caplog, str(failed.value))


def test_trakt_waits_out_a_rate_limit_within_bounds(make_standin):
    standin = make_standin({}, STANDIN_RATE_LIMIT=2)
    app = trakt_app(standin)
    tokens = connect(app)
    waits = Waits()
    session = trakt_app(standin, sleep=waits).session(tokens)
    assert session.watchlist_movies() == [] and session.watchlist_shows() == []
    with pytest.raises(ServiceError) as busy:
        session.playback()
    assert str(busy.value) == "Trakt: still busy after 3 tries (HTTP 429); try again later"
    assert waits == [10.0, 10.0]  # the Retry-After it sent, twice, then it gives up

    impatient = trakt_app(standin, sleep=waits, max_wait_s=5).session(tokens)
    with pytest.raises(ServiceError) as too_long:
        impatient.playback()
    assert str(too_long.value) == "Trakt: busy (HTTP 429), asks to wait 10 s; try again later"
    assert waits == [10.0, 10.0]
    assert [entry["status"] for entry in standin.log() if entry["path"] == "/sync/playback"] == [429] * 4


# --- end to end: the targets of a scenario --------------------------------------------------------

def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")


SCENARIO = {
    "stremio": {"library": [
        {"id": "tt9200003", "type": "series", "video_id": "tt9200003:1:9", "progress": 0.42},  # season's last
        {"id": "tt9200005", "type": "series", "video_id": "tt9200005:2:7", "progress": 0},  # next is unaired
        {"id": "tt9200011", "type": "series", "video_id": "tt9200011:1:2", "progress": 0.5, "removed": True},
        {"id": "tt9100012", "type": "movie", "progress": 0.3},
        {"id": "tt9100013", "type": "movie", "progress": 0.5, "removed": True, "temp": True},
        {"id": "tt9100020", "type": "movie", "progress": 0},
        {"id": "tt9200007", "type": "series", "video_id": "tt9200007:1:1", "progress": 0.5,
         "last_watched": iso(datetime.now(timezone.utc) - timedelta(days=40))},
    ]},
    "trakt": {
        "shows": [{"imdb": "tt9200009", "watched_through": "1:3"},  # specials in season 0
                  {"imdb": "tt9200006", "watched_through": "1:4"}],  # all watched
        "playback": [{"imdb": "tt9200003", "episode": "1:9", "progress": 40.0},
                     {"imdb": "tt9100030", "progress": 61.0}],
        "watchlist": {"movies": ["tt9100012", "tt9100040"], "shows": ["tt9200012", "tt9200015"]},
    },
}


def test_the_targets_of_a_scenario(make_peer, make_standin, caplog):
    # the peer's announced episodes (tt9200015 S1E8 among them) air an hour after it starts
    peer = make_peer(PEER_SOON_RELEASE_S=3600)
    standin = make_standin(SCENARIO, meta_url=peer.base)
    app = trakt_app(standin)
    account = StremioAccount(standin.url)
    signed_in = account.sign_in(EMAIL, PASSWORD)

    def series_videos(series_id: str):
        with urllib.request.urlopen(f"{peer.base}/meta/series/{series_id}.json", timeout=10) as answer:
            return videos_from_meta(json.loads(answer.read())["meta"], series_id).videos

    now = datetime.now(timezone.utc)
    collected = collect_targets(stremio=(account, signed_in.auth_key), trakt=app.session(connect(app)),
                                series_videos=series_videos, now=now, k=2)
    assert collected.errors == {}
    assert collected.targets == [
        Target("series", "tt9200003:1:9", "stremio+trakt", "continue watching, paused at 42 %; paused at 40 %"),
        Target("series", "tt9200003:2:1", "stremio", "next episode after S1E9"),
        Target("series", "tt9200003:2:2", "stremio", "2nd episode after S1E9"),
        Target("movie", "tt9100012", "stremio+trakt", "continue watching, paused at 30 %; on the watchlist"),
        Target("movie", "tt9100013", "stremio", "continue watching, paused at 50 %"),
        Target("movie", "tt9100030", "trakt", "paused at 61 %"),
        Target("series", "tt9200009:2:1", "trakt", "next episode after S1E3"),
        Target("series", "tt9200009:2:2", "trakt", "2nd episode after S1E3"),
        Target("movie", "tt9100040", "trakt", "on the watchlist"),
        Target("series", "tt9200012:1:1", "trakt", "first episode, show on the watchlist"),
        Target("series", "tt9200015:1:1", "trakt", "first episode, show on the watchlist"),
    ]
    [upcoming] = collected.upcoming
    assert (upcoming.series_id, upcoming.video_id) == ("tt9200015", "tt9200015:1:8")
    assert timedelta(minutes=50) < upcoming.airs_at - now <= timedelta(hours=1)
    assert isinstance(upcoming, Upcoming)
    assert_not_shown([signed_in.auth_key, PASSWORD], caplog)


def test_a_trakt_failure_keeps_the_stremio_targets(make_standin):
    standin = make_standin(STREMIO_LIBRARY)
    account = StremioAccount(standin.url)
    app = trakt_app(standin)
    session = app.session(connect(app))
    standin.expire_tokens()
    session.tokens = TraktTokens(session.tokens.access_token, "refresh-token-not-issued", session.tokens.expires_at)
    collected = collect_targets(stremio=(account, account.sign_in(EMAIL, PASSWORD).auth_key), trakt=session,
                                series_videos=lambda series_id: [], now=datetime.now(timezone.utc), k=2)
    assert collected.targets == [Target("series", "tt9200003:1:4", "stremio", "continue watching, paused at 42 %")]
    assert str(collected.errors["trakt"]) == "Trakt: token refused — connect again"
