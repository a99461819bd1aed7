"""Trakt API v2: connect with the device-code flow, keep the tokens fresh, read what a person watches.

A small client of our own on `requests` rather than pytrakt: pytrakt keeps the base URL, client id,
tokens and HTTP session in module globals (one account per process, where a household has several
viewers), stores refreshed tokens in a JSON file in the home directory, prints the tokens when the
device flow succeeds and blocks in its own polling loop. Here every viewer has a `TraktSession`,
the tokens live with the caller (handed back through `on_refresh` whenever they change), and
nothing is global."""

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from prefetch.engine.episodes import parse_time

from .service import BAD_ANSWER, REFUSED, SIGNED_OUT, JsonService, ServiceError

SERVICE = "Trakt"
TOKEN_REFUSED = "token refused — connect again"
# Trakt asks clients to refresh ahead of expiry; a sync runs every few minutes, so an hour is plenty.
REFRESH_MARGIN_S = 3600
SLOW_DOWN_STEP_S = 5  # RFC 8628: on "slow down", poll 5 s less often from then on

# Device-flow poll states
APPROVED, PENDING, SLOW_DOWN, EXPIRED, DENIED, USED, UNKNOWN = (
    "approved", "pending", "slow_down", "expired", "denied", "used", "unknown")
_POLL_STATES = {200: APPROVED, 400: PENDING, 429: SLOW_DOWN, 410: EXPIRED, 418: DENIED, 409: USED, 404: UNKNOWN}
POLL_MESSAGES = {
    APPROVED: "connected",
    PENDING: "waiting for the code to be entered",
    SLOW_DOWN: "polling too fast: slowing down",
    EXPIRED: "the code expired: start again",
    DENIED: "the code was denied on Trakt",
    USED: "the code was already used: start again",
    UNKNOWN: "unknown code: start again",
}


@dataclass(frozen=True)
class TraktTokens:
    access_token: str = field(repr=False)
    refresh_token: str = field(repr=False)
    expires_at: float  # Unix time

    @classmethod
    def from_answer(cls, answer) -> "TraktTokens":
        try:
            return cls(str(answer["access_token"]), str(answer["refresh_token"]),
                       float(answer["created_at"]) + float(answer["expires_in"]))
        except (KeyError, TypeError, ValueError):
            raise ServiceError(SERVICE, "a token answer of the wrong shape", BAD_ANSWER) from None

    def as_dict(self) -> dict:
        """What the caller stores (as secrets); `TraktTokens(**stored)` reads it back."""
        return {"access_token": self.access_token, "refresh_token": self.refresh_token, "expires_at": self.expires_at}


@dataclass(frozen=True)
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    verification_url: str
    expires_in: int
    interval: int


@dataclass(frozen=True)
class DevicePoll:
    state: str
    interval_s: int  # wait this long before the next poll
    tokens: TraktTokens | None = None

    @property
    def message(self) -> str:
        return POLL_MESSAGES[self.state]

    @property
    def finished(self) -> bool:
        return self.state not in (PENDING, SLOW_DOWN)


def episode_video_id(show_imdb: str, season: int, number: int) -> str:
    """Stremio's id of an episode: Trakt's episode `ids.imdb` is usually null, the show's is not."""
    return f"{show_imdb}:{season}:{number}"


@dataclass(frozen=True)
class Episode:
    season: int
    number: int

    @property
    def label(self) -> str:
        return f"S{self.season}E{self.number}"

    @classmethod
    def from_answer(cls, raw) -> "Episode | None":
        if not isinstance(raw, dict):
            return None
        season, number = raw.get("season"), raw.get("number")
        if isinstance(season, int) and isinstance(number, int):
            return cls(season, number)
        return None


@dataclass(frozen=True)
class Title:
    """A show or movie as Trakt names it."""

    title: str
    imdb: str | None
    trakt_id: int | None

    @classmethod
    def from_answer(cls, raw) -> "Title":
        raw = raw if isinstance(raw, dict) else {}
        ids = raw.get("ids") if isinstance(raw.get("ids"), dict) else {}
        imdb = ids.get("imdb")
        trakt_id = ids.get("trakt")
        return cls(str(raw.get("title") or ""), imdb if isinstance(imdb, str) and imdb else None,
                   trakt_id if isinstance(trakt_id, int) else None)


@dataclass(frozen=True)
class Paused:
    """An entry of /sync/playback: a movie, or an episode of `title` (the show)."""

    title: Title
    episode: Episode | None
    progress: float  # percent
    paused_at: datetime | None


@dataclass(frozen=True)
class WatchedShow:
    show: Title
    last_watched_at: datetime | None


@dataclass(frozen=True)
class Progress:
    next_episode: Episode | None
    last_episode: Episode | None


@dataclass(frozen=True)
class Airing:
    show: Title
    episode: Episode
    first_aired: datetime


class TraktApp:
    """The registered Trakt app (client id and secret): the device flow, refresh and revoke."""

    def __init__(self, base_url: str, client_id: str, client_secret: str, **options):
        self.api = JsonService(SERVICE, base_url, **options)
        self.client_id = client_id
        self._client_secret = client_secret

    def __repr__(self) -> str:
        return f"TraktApp({self.api.base_url!r})"

    @property
    def headers(self) -> dict:
        return {"Content-Type": "application/json", "trakt-api-version": "2", "trakt-api-key": self.client_id}

    def start_device(self) -> DeviceCode:
        response = self.api.request("POST", "/oauth/device/code", json={"client_id": self.client_id},
                                    headers=self.headers)
        self.check_client(response)
        answer = self.api.json(response)
        try:
            return DeviceCode(str(answer["device_code"]), str(answer["user_code"]), str(answer["verification_url"]),
                              int(answer["expires_in"]), int(answer["interval"]))
        except (KeyError, TypeError, ValueError):
            raise self.api.error("a device code answer of the wrong shape", BAD_ANSWER) from None

    def poll_device(self, device_code: str, interval_s: int) -> DevicePoll:
        """One poll of the device flow; `interval_s` is the interval in force (the announced one, at first)."""
        response = self.api.request("POST", "/oauth/device/token", headers=self.headers, busy_statuses=(503,),
                                    json={"code": device_code, "client_id": self.client_id,
                                          "client_secret": self._client_secret})
        self.check_client(response)
        state = _POLL_STATES.get(response.status_code)
        if state is None:
            raise self.api.error(f"unexpected answer to the device poll (HTTP {response.status_code})", BAD_ANSWER,
                                 response.status_code)
        if state == APPROVED:
            return DevicePoll(state, interval_s, TraktTokens.from_answer(self.api.json(response)))
        return DevicePoll(state, interval_s + SLOW_DOWN_STEP_S if state == SLOW_DOWN else interval_s)

    def refresh(self, tokens: TraktTokens) -> TraktTokens:
        """New tokens for the refresh token (the old pair stops working); a refused grant means connect again."""
        response = self.api.request("POST", "/oauth/token", headers=self.headers, json={
            "refresh_token": tokens.refresh_token, "client_id": self.client_id,
            "client_secret": self._client_secret, "redirect_uri": "urn:ietf:wg:oauth:2.0:oob",
            "grant_type": "refresh_token"})
        if response.status_code in (400, 401):
            raise self.api.error(TOKEN_REFUSED, SIGNED_OUT, response.status_code)
        self.check_client(response)
        return TraktTokens.from_answer(self.api.json(response))

    def revoke(self, tokens: TraktTokens) -> None:
        self.api.request("POST", "/oauth/revoke", headers=self.headers, json={
            "token": tokens.access_token, "client_id": self.client_id, "client_secret": self._client_secret})

    def session(self, tokens: TraktTokens, on_refresh: Callable[[TraktTokens], None] | None = None,
                **options) -> "TraktSession":
        return TraktSession(self, tokens, on_refresh, **options)

    def check_client(self, response) -> None:
        """Trakt answers 403 (API calls) or 401 `invalid_client` (OAuth calls) when the app itself is refused."""
        if response.status_code == 403 or (response.status_code == 401 and "invalid_client" in response.text):
            raise self.api.error("the app's client id or secret was refused (TRAKT_CLIENT_ID, TRAKT_CLIENT_SECRET)",
                                 REFUSED, response.status_code)


class TraktSession:
    """One viewer's connection: user calls with their tokens, refreshed `refresh_margin_s` before they
    expire (by `clock`, Unix time) or once on a 401; `on_refresh(tokens)` is called with every new pair,
    which the caller must store at once (the old pair no longer works)."""

    def __init__(self, app: TraktApp, tokens: TraktTokens, on_refresh: Callable[[TraktTokens], None] | None = None,
                 *, refresh_margin_s: float = REFRESH_MARGIN_S, clock: Callable[[], float] = time.time):
        self.app = app
        self.tokens = tokens
        self.on_refresh = on_refresh
        self.refresh_margin_s = refresh_margin_s
        self.clock = clock

    def __repr__(self) -> str:
        return f"TraktSession({self.app.api.base_url!r})"

    def username(self) -> str:
        """Whom the tokens belong to: the account's `user.username` in its settings (GET /users/settings)."""
        answer = self._get("/users/settings")
        user = answer.get("user") if isinstance(answer, dict) else None
        username = user.get("username") if isinstance(user, dict) else None
        if not isinstance(username, str) or not username:
            raise self.app.api.error("a settings answer without a username", BAD_ANSWER)
        return username

    def playback(self) -> list[Paused]:
        entries = []
        for raw in self._get("/sync/playback"):
            kind = raw.get("type")
            if kind not in ("movie", "episode"):
                continue
            episode = Episode.from_answer(raw.get("episode")) if kind == "episode" else None
            if kind == "episode" and episode is None:
                continue
            progress = raw.get("progress")
            entries.append(Paused(Title.from_answer(raw.get("show" if kind == "episode" else "movie")), episode,
                                  float(progress) if isinstance(progress, (int, float)) else 0.0,
                                  parse_time(raw.get("paused_at"))))
        return entries

    def watched_shows(self) -> list[WatchedShow]:
        return [WatchedShow(Title.from_answer(raw.get("show")), parse_time(raw.get("last_watched_at")))
                for raw in self._get("/sync/watched/shows?extended=noseasons")]

    def show_progress(self, show: Title) -> Progress:
        show_id = show.trakt_id or show.imdb
        answer = self._get(f"/shows/{show_id}/progress/watched?hidden=false&specials=false&count_specials=false")
        if not isinstance(answer, dict):
            raise self.app.api.error("a progress answer of the wrong shape", BAD_ANSWER)
        return Progress(Episode.from_answer(answer.get("next_episode")), Episode.from_answer(answer.get("last_episode")))

    def watchlist_movies(self) -> list[Title]:
        return [Title.from_answer(raw.get("movie")) for raw in self._get("/sync/watchlist/movies")]

    def watchlist_shows(self) -> list[Title]:
        return [Title.from_answer(raw.get("show")) for raw in self._get("/sync/watchlist/shows")]

    def calendar_shows(self, start: date, days: int) -> list[Airing]:
        """Episodes of the shows the viewer follows airing from `start` (a UTC date) for `days` days."""
        airings = []
        for raw in self._get(f"/calendars/my/shows/{start.isoformat()}/{days}"):
            episode, first_aired = Episode.from_answer(raw.get("episode")), parse_time(raw.get("first_aired"))
            if episode and first_aired:
                airings.append(Airing(Title.from_answer(raw.get("show")), episode, first_aired))
        return airings

    def _get(self, path: str):
        if self.tokens.expires_at - self.clock() < self.refresh_margin_s:
            self._refresh()
        response = self._send(path)
        if response.status_code == 401:
            self._refresh()
            response = self._send(path)
            if response.status_code == 401:
                raise self.app.api.error(TOKEN_REFUSED, SIGNED_OUT, 401)
        self.app.check_client(response)
        if response.status_code != 200:
            raise self.app.api.error(f"unexpected answer (HTTP {response.status_code})", BAD_ANSWER,
                                     response.status_code)
        answer = self.app.api.json(response)
        if not isinstance(answer, (list, dict)):
            raise self.app.api.error("an answer of the wrong shape", BAD_ANSWER)
        return [raw for raw in answer if isinstance(raw, dict)] if isinstance(answer, list) else answer

    def _send(self, path: str):
        return self.app.api.request("GET", path, headers={
            **self.app.headers, "Authorization": f"Bearer {self.tokens.access_token}"})

    def _refresh(self) -> None:
        self.tokens = self.app.refresh(self.tokens)
        if self.on_refresh:
            self.on_refresh(self.tokens)
