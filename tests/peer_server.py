"""Starts the real Stremio test peer (tests/peer, stremio-addon-sdk) on 127.0.0.1 with a free port."""

import json
import os
import shutil
import subprocess
import tempfile
import time
import urllib.request
from pathlib import Path

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
        self.process = subprocess.Popen(
            ["node", "server.js"], cwd=PEER_DIR, env=full_env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 15
        while not (port_file.exists() and port_file.read_text().strip()):
            if self.process.poll() is not None:
                raise RuntimeError(f"peer exited: {self.process.stderr.read().decode()}")
            if time.monotonic() > deadline:
                raise RuntimeError("peer did not start within 15 s")
            time.sleep(0.02)
        self.port = int(port_file.read_text().strip())
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
        self.process.terminate()
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.process.kill()
        shutil.rmtree(self.workdir, ignore_errors=True)
