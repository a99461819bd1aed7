"""The image, built from the real Dockerfile and run as compose runs it: compose's `migrate`, the
image's own default command (web), compose's `worker` twice and `beat`, each service's healthcheck
run inside its container, and a run through the API to completion.

The engine comes from ../shared/docker/engine.sh (SHARED_DIR to point elsewhere; it installs and
starts one, with a local stand-in for the python:3.11-slim base image, since these machines reach
no image registry), else from an engine that already answers; without either the test is skipped
with the reason. Containers use `--network host` (the engine has no bridge): compose's service
names `redis` and `postgres` are mapped to a private redis-server and a PostgreSQL database of the
test's own on 127.0.0.1, and each container gets a host name of its own, as in compose.
"""

import os
import re
import shutil
import subprocess
import urllib.request
import uuid
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import pytest

from tests.deployment import (
    CONFIGURE,
    POSTGRES_HOST,
    POSTGRES_PORT,
    ROOT,
    answers,
    api,
    command,
    compose_services,
    healthcheck,
    on_this_machine,
    postgres_database,
)
from tests.helpers import free_port, wait_until
from tests.worker_process import RedisServer

pytestmark = pytest.mark.docker

IMAGE = "streams-prefetcher:test"
STREAMS = 10


def engine_script() -> Path | None:
    for shared in (os.environ.get("SHARED_DIR"), ROOT.parent / "shared", "/work/shared"):
        if shared and (script := Path(shared) / "docker" / "engine.sh").is_file():
            return script
    return None


def docker(env: dict, *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(["docker", *args], env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def docker_env() -> dict:
    """The environment for a docker CLI that reaches an engine (DOCKER_HOST)."""
    env = dict(os.environ)
    script = engine_script()
    if script is None:
        reason = "no docker/engine.sh in SHARED_DIR, ../shared or /work/shared to start a Docker engine"
    else:
        # A session of its own: the dockerd it may start must outlive a Ctrl-C of this test run.
        result = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, start_new_session=True)
        if result.returncode == 0:
            env["DOCKER_HOST"] = "unix://" + result.stdout.strip().splitlines()[-1]
            return env
        as_who = " (not run as root, which it needs)" if os.geteuid() != 0 else ""
        reason = f"{script} exited with {result.returncode}{as_who}: {result.stderr.strip()[-800:]}"
    if shutil.which("docker") and docker(env, "info").returncode == 0:
        return env
    pytest.skip(f"no Docker engine: {reason}")


@pytest.fixture(scope="module")
def image(docker_env, tmp_path_factory) -> str:
    """The image built from the Dockerfile, by id (the tag may move under a concurrent session)."""
    previous = docker(docker_env, "image", "inspect", "--format", "{{.Id}}", IMAGE).stdout.strip()
    id_file = tmp_path_factory.mktemp("image") / "id"
    result = subprocess.run(
        ["docker", "build", "--network", "host", "--iidfile", str(id_file), "-t", IMAGE, str(ROOT)],
        env={**docker_env, "DOCKER_BUILDKIT": "0"}, capture_output=True, text=True, timeout=1200,
    )
    assert result.returncode == 0, f"docker build failed:\n{result.stdout[-6000:]}\n{result.stderr[-3000:]}"
    built = id_file.read_text().strip()
    if previous and previous != built:
        docker(docker_env, "image", "rm", previous)  # refused while containers use it: fine
    return built


class Containers:
    """Compose services as containers of this image on the host network, sharing one data volume."""

    def __init__(self, env: dict, image: str, services: dict, addresses: dict[str, str]):
        self.env = env
        self.image = image
        self.services = services
        self.addresses = addresses
        self.prefix = f"prefetcher-test-{uuid.uuid4().hex[:8]}"
        self.volume = f"{self.prefix}-data"  # a new named volume takes /data's owner from the image: UID 1000
        self.names: list[str] = []
        created = docker(env, "volume", "create", self.volume)
        assert created.returncode == 0, created.stderr

    def _run_args(self, service: str, host_name: str) -> list[str]:
        environment = on_this_machine(self.services[service]["environment"], self.addresses)
        target = self.services[service]["volumes"][0]["target"]
        # The image's HEALTHCHECK fits web only; each service's own is run explicitly (`healthcheck`).
        args = ["--network", "host", "--hostname", host_name, "--no-healthcheck", "-v", f"{self.volume}:{target}"]
        for key, value in environment.items():
            args += ["-e", f"{key}={value}"]
        return args

    def run_once(self, service: str) -> None:
        result = docker(self.env, "run", "--rm", *self._run_args(service, service), self.image,
                        *command(self.services[service]), timeout=300)
        assert result.returncode == 0, f"{service} exited with {result.returncode}:\n{result.stdout}{result.stderr}"

    def start(self, service: str, host_name: str, default_command: bool = False) -> str:
        name = f"{self.prefix}-{host_name}"
        self.names.append(name)
        argv = [] if default_command else command(self.services[service])
        result = docker(self.env, "run", "-d", "--name", name, *self._run_args(service, host_name), self.image, *argv)
        assert result.returncode == 0, result.stderr
        return name

    def exec(self, name: str, *argv: str, env: dict | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        options = [f"--env={key}={value}" for key, value in (env or {}).items()]
        return docker(self.env, "exec", *options, name, *argv, timeout=timeout)

    def assert_healthy(self, name: str, service: str, wait: float = 0) -> None:
        """The service's healthcheck, run in its container, exits 0 (within `wait` seconds if given)."""
        argv, timeout = healthcheck(self.services[service])
        if wait:
            wait_until(lambda: self.exec(name, *argv, timeout=timeout).returncode == 0, timeout=wait, interval=1,
                       message=f"{name}'s healthcheck to pass")
        result = self.exec(name, *argv, timeout=timeout)
        assert result.returncode == 0, f"{name}'s healthcheck: {result.stdout}{result.stderr}"

    def remove(self) -> None:
        for name in self.names:  # pytest shows this only when the test failed
            logs = docker(self.env, "logs", "--tail", "60", name)
            print(f"--- {name} ---\n{logs.stdout}{logs.stderr}")
        if self.names:
            docker(self.env, "rm", "--force", *self.names)
        docker(self.env, "volume", "rm", "--force", self.volume)


@pytest.mark.timeout(1800)  # the first time includes installing the engine and building everything
def test_image_runs_the_compose_services_and_a_run_through_the_api(docker_env, image, make_peer, tmp_path):
    peer = make_peer(PEER_DUAL=STREAMS)
    with ExitStack() as stack:
        redis = RedisServer()
        stack.callback(redis.close)
        database = stack.enter_context(postgres_database("prefetcher_image"))
        port = free_port()
        services = compose_services("docker-compose.yml", tmp_path / "project", {
            "POSTGRES_USER": "postgres", "POSTGRES_DB": database, "PORT": port,
            "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "a-long-test-password",
        })
        containers = Containers(docker_env, image, services, {
            "redis:6379": f"127.0.0.1:{redis.port}", "postgres:5432": f"{POSTGRES_HOST}:{POSTGRES_PORT}",
        })
        stack.callback(containers.remove)

        containers.run_once("migrate")
        web = containers.start("web", "web", default_command=True)
        workers = [containers.start("worker", f"worker-{n}") for n in (1, 2)]
        beat = containers.start("beat", "beat")
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/api/health"), timeout=90, interval=0.2, message="the web container")

        containers.assert_healthy(web, "web")
        for worker in workers:
            containers.assert_healthy(worker, "worker", wait=30)
        containers.assert_healthy(beat, "beat", wait=90)

        login = urllib.request.urlopen(f"{base}/login/", timeout=10).read().decode()
        stylesheet = re.search(r'href="(/static/css/app\.[0-9a-f]+\.css)"', login)
        assert stylesheet, "the login page names no hashed stylesheet (collectstatic's manifest)"
        assert urllib.request.urlopen(base + stylesheet.group(1), timeout=10).status == 200

        configured = containers.exec(web, "python", "manage.py", "shell", "-c", CONFIGURE, env={"PEER_URL": peer.url})
        assert configured.returncode == 0, configured.stderr
        token = configured.stdout.strip().splitlines()[-1]
        assert api(base, token, "/api/job/run", "POST")["success"] is True
        status = wait_until(lambda: not (s := api(base, token, "/api/job/status")["status"])["active"] and s,
                            timeout=90, interval=0.5, message="the run to finish")
        assert (status["status"], status["trigger"]) == ("completed", "api"), status
        assert status["worker"] in {"worker@worker-1", "worker@worker-2"}
        requested = Counter(entry["id"] for entry in peer.requests("stream"))
        assert len(requested) == STREAMS and set(requested.values()) == {1}, requested
