"""Starts the real Stremio test peer (tests/peer, stremio-addon-sdk) on 127.0.0.1 with a free port."""

import json
import os
import tempfile
import urllib.request
from pathlib import Path

from tests.local_server import start_listening, stop

PEER_DIR = Path(__file__).resolve().parent / "peer"


class Peer:
    def __init__(self, **env):
        self.workdir = Path(tempfile.mkdtemp(prefix="peer-"))
        self.log_path = self.workdir / "requests.jsonl"
        port_file = self.workdir / "port"
        full_env = {
            **os.environ,
            "PEER_HOST": "127.0.0.1",
            "PEER_PORT": "0",
            "PEER_PORT_FILE": str(port_file),
            "PEER_LOG": str(self.log_path),
            "PEER_QUIET": "1",
            **{key: str(value) for key, value in env.items()},
        }
        self.process, self.port = start_listening("peer", ["node", "server.js"], port_file, full_env, cwd=PEER_DIR)
        self.base = f"http://127.0.0.1:{self.port}"
        self.url = f"{self.base}/manifest.json"

    def get(self, path: str):
        with urllib.request.urlopen(self.base + path, timeout=10) as response:
            return json.loads(response.read())

    def expected(self) -> dict:
        return self.get("/_peer/expected")

    def reset(self) -> None:
        urllib.request.urlopen(urllib.request.Request(self.base + "/_peer/reset", method="POST"), timeout=10).close()

    def requests(self, resource: str | None = None) -> list[dict]:
        if not self.log_path.exists():
            return []
        entries = [json.loads(line) for line in self.log_path.read_text().splitlines() if line.strip()]
        return [entry for entry in entries if resource is None or entry["resource"] == resource]

    def stop(self) -> None:
        stop(self.process, self.workdir)
