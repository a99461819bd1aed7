"""Starts the watch stand-in (tests/standin: the Stremio account API and the Trakt API) on 127.0.0.1
with a free port, a scenario of the test's own and its knobs, episodes from the test peer's meta."""

import json
import os
import sys
import tempfile
import urllib.request
from pathlib import Path

from django.utils import timezone

from prefetch.engine.episodes import videos_from_meta
from tests.local_server import start_listening, stop

STANDIN_DIR = Path(__file__).resolve().parent / "standin"
CLIENT_ID, CLIENT_SECRET = "standin-client-id", "standin-client-secret"
EMAIL, PASSWORD = "viewer@example.com", "viewer-password"
TRAKT_USER = "couch-household"  # not the stand-in's default, so a name shown was read from the service
SERIES = "tt9200003"  # a series of the test peer, watched up to 1:4
# A household's accounts: a series half-watched and a movie on Stremio; a playback and a watchlist on Trakt.
SCENARIO = {
    "stremio": {"email": EMAIL, "password": PASSWORD, "library": [
        {"id": SERIES, "type": "series", "video_id": f"{SERIES}:1:4", "progress": 0.42},
        {"id": "tt9100012", "type": "movie", "progress": 0.3},
    ]},
    "trakt": {"client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "user": TRAKT_USER,
              "playback": [{"imdb": "tt9100030", "progress": 61.0}], "watchlist": {"movies": ["tt9100040"]}},
}


class WatchStandin:
    def __init__(self, scenario: dict, meta_url: str, **env):
        self.workdir = Path(tempfile.mkdtemp(prefix="standin-"))
        scenario_path = self.workdir / "scenario.json"
        scenario_path.write_text(json.dumps(scenario))
        port_file = self.workdir / "port"
        full_env = {
            **os.environ,
            "STANDIN_PORT": "0",
            "STANDIN_PORT_FILE": str(port_file),
            "STANDIN_SCENARIO": str(scenario_path),
            "STANDIN_META_URL": meta_url,
            **{key: str(value) for key, value in env.items()},
        }
        self.process, port = start_listening("stand-in", [sys.executable, str(STANDIN_DIR / "server.py")], port_file,
                                             full_env)
        self.url = f"http://127.0.0.1:{port}"

    def control(self, path: str, body: dict | None = None):
        request = urllib.request.Request(self.url + "/_standin/" + path, method="POST" if body is not None else "GET",
                                         data=json.dumps(body).encode() if body is not None else None,
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=10) as response:
            return json.loads(response.read())

    def log(self) -> list[dict]:
        """Every API call so far: method, path, status, service, authorized."""
        return self.control("log")

    def approve(self) -> None:
        self.control("approve", {})

    def expire_tokens(self) -> None:
        self.control("expire-tokens", {})

    def watch(self, imdb: str, progress: float, episode: str | None = None) -> None:
        self.control("watch", {"imdb": imdb, "progress": progress, **({"episode": episode} if episode else {})})

    def stop(self) -> None:
        stop(self.process, self.workdir)


def aired_after(peer, series_id: str, season: int, episode: int, k: int) -> list[str]:
    """The spec restated on the peer's own meta: the next k aired, non-special episodes."""
    videos = videos_from_meta(peer.get(f"/meta/series/{series_id}.json")["meta"], series_id).videos
    now = timezone.now()
    following = sorted((v for v in videos if v.season and (v.season, v.episode) > (season, episode)
                        and (v.released is None or v.released <= now)), key=lambda v: (v.season, v.episode))
    return [video.id for video in following[:k]]
