"""`make run`'s single process: web server, Celery worker and beat in one process, no Redis."""

import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import urllib.request
from pathlib import Path

from tests.helpers import wait_until

ROOT = Path(__file__).resolve().parent.parent

CONFIGURE = textwrap.dedent("""
    import os
    from django.utils import timezone
    from rest_framework.authtoken.models import Token
    from django.contrib.auth import get_user_model
    from addons.client import fetch_manifest_sync
    from addons.models import Addon, Catalog
    from prefetch.models import PrefetchSettings
    url = os.environ["PEER_URL"]
    addon = Addon(url=url, role="both")
    addon.apply_manifest(fetch_manifest_sync(url), timezone.now())
    addon.save()
    Catalog.objects.create(addon=addon, content_type="movie", catalog_id="peer-dual", name="Dual")
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"delay_s": 0, "fallback_meta_url": ""})
    print(Token.objects.create(user=get_user_model().objects.get(username="admin")).key)
""")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _call(url, token, method="GET"):
    request = urllib.request.Request(url, method=method, headers={"Authorization": f"Token {token}"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())


def test_one_process_serves_the_app_and_executes_a_run(peer, tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
    env.update(DATA_DIR=str(tmp_path), ADMIN_USERNAME="admin", ADMIN_PASSWORD="a-long-test-password")
    manage = [sys.executable, "manage.py"]
    subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
    token = subprocess.run(
        [*manage, "shell", "-c", CONFIGURE], cwd=ROOT, env={**env, "PEER_URL": peer.url}, check=True, capture_output=True,
        text=True, timeout=60,
    ).stdout.strip().splitlines()[-1]

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([*manage, "serve", "--port", str(port)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                return urllib.request.urlopen(f"{base}/login/", timeout=2).status == 200
            except OSError:
                return False

        wait_until(up, timeout=30, message="the server to answer")
        peer.reset()
        started = _call(f"{base}/api/job/run", token, method="POST")
        assert started["success"] is True
        status = wait_until(
            lambda: (s := _call(f"{base}/api/job/status", token)["status"])["status"] == "completed" and s,
            timeout=30, message="the run to complete in the embedded worker",
        )
        assert status["id"] is not None
        assert len(peer.requests("stream")) == 50
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=15)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status reports it
    assert server.returncode in (0, -signal.SIGTERM)
