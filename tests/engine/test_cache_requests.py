"""Stream source cache requests (the debrid trigger) against a stream addon whose playback URLs are
on its own host. The peer's playback URLs point at *.peer.invalid, so this small local addon serves
streams for the peer's catalog items instead."""

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from prefetch.runs.execute import database_engine
from tests.helpers import addon, plan, send_json

pytestmark = pytest.mark.django_db(transaction=True)


class PlaybackAddon:
    """Stream-only addon: per movie one cached (⚡) stream, three uncached ones, one info card."""

    def __init__(self):
        self.hits: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.hits.append(self.path)
                if self.path == "/manifest.json":
                    return send_json(self, {"id": "local.play", "name": "Local Play", "version": "1.0.0", "types": ["movie"],
                                       "catalogs": [], "resources": ["stream"], "idPrefixes": ["tt"]})
                if self.path.startswith("/stream/movie/"):
                    base = f"http://127.0.0.1:{outer.port}"
                    movie = self.path.rsplit("/", 1)[1][:-5]
                    return send_json(self, {"streams": [
                        {"name": "Local ⚡ 2160p", "url": f"{base}/play/{movie}/0"},
                        {"name": "Local 1080p", "url": f"{base}/play/{movie}/1"},
                        {"name": "Local 720p", "url": f"{base}/play/{movie}/2"},
                        {"name": "Local 480p", "description": "elsewhere", "url": f"http://127.0.0.2:{outer.port}/play/{movie}/3"},
                        {"name": "Ratings card", "url": f"{base}/play/{movie}/info"},
                    ]})
                if self.path.startswith("/play/"):
                    self.send_response(302)  # resolvers redirect to the debrid download
                    self.send_header("Location", self.path.replace("/play/", "/resolved/"))
                    self.send_header("Content-Length", "0")
                    return self.end_headers()
                if self.path.startswith("/resolved/"):
                    body = b"x" * 1_000_000  # a "video": the client must not read it
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    try:
                        self.wfile.write(body)
                    except (BrokenPipeError, ConnectionResetError):
                        pass
                    return None
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.url = f"http://127.0.0.1:{self.port}/manifest.json"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def played(self, prefix="/play/"):
        return [path for path in self.hits if path.startswith(prefix)]


@pytest.fixture
def playback():
    server = PlaybackAddon()
    yield server
    server.server.shutdown()


def run(peer, playback, **settings):
    return database_engine(
        plan([addon(peer.url, "catalog"), addon(playback.url, "stream")], [("movie", "peer-dual")],
             movies_per_catalog=3, cache_requests_enabled=True, cached_stream_regex="⚡",
             skip_stream_regex="Ratings", **settings)
    ).run()


def test_uncached_streams_are_opened_on_the_addons_own_host_within_the_caps(peer, playback):
    report = run(peer, playback, cached_streams_threshold=1, cache_requests_per_item=2, cache_requests_global=5)
    played = playback.played()
    assert len(played) == 5  # 2 per movie for 3 movies, cut at the global cap of 5
    # never the cached one, the skipped card, or the stream on another host (127.0.0.2)
    assert all(path.endswith(("/1", "/2")) for path in played)
    assert len(playback.played("/resolved/")) == 5  # redirects followed
    assert report["statistics"]["cache_requests_sent"] == 5
    assert report["statistics"]["cache_requests_ok"] == 5
    assert sum(c["cache_requests_sent"] for c in report["catalogs"]) == 5


def test_nothing_is_opened_when_enough_streams_are_already_cached(peer, playback):
    report = run(peer, playback, cached_streams_threshold=0)  # one ⚡ stream > threshold 0
    assert playback.played() == []
    assert report["statistics"]["cache_requests_sent"] == 0
