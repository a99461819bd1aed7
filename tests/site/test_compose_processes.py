"""The compose files, run as processes: each long-running service's own `command` with that
service's `environment` (docker-compose.yml and docker-compose.sqlite.yml as `docker compose config`
resolves them), `migrate` first, then web, worker twice and beat; a schedule for the next whole
minute must be fired by that beat (postgres variant; the sqlite one starts its run from the API,
to wait for a minute only once) and run to completion by one of those workers, a third worker
started meanwhile must leave the run alone, and every service's healthcheck must pass. This is
what `docker compose config` cannot show: that the commands and their wiring work.

What compose provides around the services is mapped onto this machine: the service names
`redis` / `postgres` in URLs to a private redis-server and the local PostgreSQL (a database of the
test's own), the /data volume to a temporary folder, and each container's host name to a UTS
namespace of the process's own (`unshare --uts`), with HOSTNAME set as Docker sets it: so the
worker's `--hostname worker@%h` (Celery's %h is socket.gethostname()) and its healthcheck's
`worker@$HOSTNAME` agree as in a container. Without the privilege for a UTS namespace, %h is
replaced by that host name in the command instead (the one deviation from the file).
"""

import functools
import os
import shutil
import signal
import subprocess
import sys
from collections import Counter
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tests.deployment import (
    COMPOSE_FILES,
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
from tests.helpers import free_port, next_whole_minute, wait_until
from tests.worker_process import RedisServer

pytestmark = pytest.mark.realtime

TZ = "Europe/Berlin"  # not UTC: the schedule's HH:MM is in the server's zone
STREAMS = 30
STREAM_LATENCY_MS = 1000  # 30 streams, 2 in parallel (the default): a run of about 15 s
# What the image's ENV sets that matters outside /app (DATA_DIR and PORT come from the services).
IMAGE_ENV = {"DJANGO_SETTINGS_MODULE": "prefetcher_site.settings", "PYTHONUNBUFFERED": "1",
             "PYTHONDONTWRITEBYTECODE": "1"}


@functools.cache
def own_uts_namespace() -> bool:
    return bool(shutil.which("unshare")) and subprocess.run(["unshare", "--uts", "true"],
                                                            capture_output=True).returncode == 0


def under_host_name(argv: list[str], host_name: str) -> list[str]:
    if own_uts_namespace():
        return ["unshare", "--uts", "sh", "-c", 'hostname "$1" && shift && exec "$@"', "sh", host_name, *argv]
    return [arg.replace("%h", host_name) for arg in argv]


class ServiceProcess:
    """One container of a compose service, as a process group on this machine."""

    def __init__(self, host_name: str, service: dict, env: dict, log_dir: Path):
        self.host_name = host_name
        self.service = service
        self.env = {**env, "HOSTNAME": host_name}  # as Docker sets it in every container
        self.log_path = log_dir / f"{host_name}.log"
        with open(self.log_path, "wb") as log:
            self.process = subprocess.Popen(under_host_name(command(service), host_name), cwd=ROOT, env=self.env,
                                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def healthcheck(self) -> subprocess.CompletedProcess:
        """The service's healthcheck command, as Docker runs it: in the container's environment."""
        argv, timeout = healthcheck(self.service)
        return subprocess.run(argv, cwd=ROOT, env=self.env, capture_output=True, text=True, timeout=timeout)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)  # what `docker stop` sends
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        try:
            os.killpg(self.process.pid, signal.SIGKILL)  # prefork children left behind, if any
        except ProcessLookupError:
            pass
        self.process.wait()


class ProcessDeployment:
    """The services of one compose file, started on demand; everything stopped on close."""

    def __init__(self, services: dict, addresses: dict[str, str], log_dir: Path):
        self.services = services
        self.addresses = addresses
        self.log_dir = log_dir
        self.processes: list[ServiceProcess] = []

    def env(self, name: str) -> dict:
        service = self.services[name]
        volumes = {volume["target"]: volume["source"] for volume in service.get("volumes", [])}
        for source in volumes.values():
            Path(source).mkdir(parents=True, exist_ok=True)  # compose's create_host_path
        return {"PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}", "HOME": str(self.log_dir),
                **IMAGE_ENV, **on_this_machine(service["environment"], self.addresses, volumes)}

    def run_once(self, name: str) -> None:
        result = subprocess.run(command(self.services[name]), cwd=ROOT, env=self.env(name), capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, f"{name} exited with {result.returncode}:\n{result.stdout}{result.stderr}"

    def start(self, name: str, host_name: str) -> ServiceProcess:
        process = ServiceProcess(host_name, self.services[name], self.env(name), self.log_dir)
        self.processes.append(process)
        return process

    def close(self) -> None:
        for process in self.processes:
            process.stop()
        for process in self.processes:  # pytest shows this only when the test failed
            print(f"--- {process.host_name} (exit {process.process.returncode}) ---\n{process.log()[-4000:]}")


def assert_healthy(process: ServiceProcess, wait: float = 0) -> None:
    """Its healthcheck exits 0 (beat's may first need a heartbeat: waits up to `wait` seconds)."""
    if wait:
        wait_until(lambda: process.healthcheck().returncode == 0, timeout=wait, interval=1,
                   message=f"{process.host_name}'s healthcheck to pass")
    result = process.healthcheck()
    assert result.returncode == 0, f"{process.host_name}'s healthcheck: {result.stdout}{result.stderr}"


@pytest.mark.timeout(420)
# Beat firing a schedule is waited for once (a minute at most); the SQLite variant starts its run
# from the API, the rest of the scenario is the same.
@pytest.mark.parametrize(("variant", "trigger"), [("postgres", "schedule"), ("sqlite", "api")])
def test_compose_services_run_what_beat_fires_and_a_third_worker_leaves_it_alone(variant, trigger, make_peer,
                                                                                  tmp_path):
    peer = make_peer(PEER_DUAL=STREAMS, PEER_STREAM_LATENCY_MS=STREAM_LATENCY_MS)
    with ExitStack() as stack:
        redis = RedisServer()
        stack.callback(redis.close)
        database = stack.enter_context(postgres_database("prefetcher_compose")) if variant == "postgres" else ""
        port = free_port()
        services = compose_services(COMPOSE_FILES[variant], tmp_path / "project", {
            "POSTGRES_USER": "postgres", "POSTGRES_DB": database, "PORT": port, "TZ": TZ, "LOG_LEVEL": "INFO",
            "DATA_DIR": "./data", "ADMIN_USERNAME": "admin", "ADMIN_PASSWORD": "a-long-test-password",
        })
        deployment = ProcessDeployment(
            services, {"redis:6379": f"127.0.0.1:{redis.port}", "postgres:5432": f"{POSTGRES_HOST}:{POSTGRES_PORT}"},
            tmp_path,
        )
        stack.callback(deployment.close)

        deployment.run_once("migrate")
        web = deployment.start("web", "web")
        workers = [deployment.start("worker", f"worker-{n}") for n in (1, 2)]
        beat = deployment.start("beat", "beat")
        base = f"http://127.0.0.1:{port}"
        wait_until(lambda: answers(f"{base}/api/health"), timeout=60, interval=0.2, message="the web service")
        token = subprocess.run(
            [sys.executable, "manage.py", "shell", "-c", CONFIGURE], cwd=ROOT, env={**web.env, "PEER_URL": peer.url},
            check=True, capture_output=True, text=True, timeout=60,
        ).stdout.strip().splitlines()[-1]

        if trigger == "schedule":
            fire_at = next_whole_minute(ZoneInfo(TZ))
            api(base, token, "/api/schedule", "POST",
                {"enabled": True, "schedules": [{"time": fire_at.strftime("%H:%M"), "days": list(range(7))}]})
            wait = (fire_at - datetime.now(fire_at.tzinfo)).total_seconds() + 60
            waiting_for = f"beat to fire the schedule at {fire_at:%H:%M %Z}"
        else:
            api(base, token, "/api/job/run", "POST")
            wait, waiting_for = 30, "the run started from the API"

        def latest_run():
            runs = api(base, token, f"/api/runs?trigger={trigger}&limit=1")["runs"]
            return runs[0] if runs else None

        started = wait_until(lambda: (run := latest_run()) and run["status"] == "running" and run["worker"] and run,
                             timeout=wait, interval=0.25, message=waiting_for)
        assert started["worker"] in {f"worker@{worker.host_name}" for worker in workers}
        if trigger == "schedule":
            assert datetime.fromisoformat(started["created_at"]) >= fire_at  # fired by beat at the minute

        # A worker starting during the run (a scale-up, a restart) must leave it alone.
        third = deployment.start("worker", "worker-3")
        wait_until(lambda: "worker@worker-3 ready." in third.log(), timeout=60, interval=0.2,
                   message="the third worker to be ready")
        during = api(base, token, f"/api/runs/{started['id']}")["run"]
        assert (during["status"], during["worker"]) == ("running", started["worker"]), (
            f"the run was disturbed by the third worker (or ended before it was up: make it longer): {during}")

        finished = wait_until(
            lambda: not (run := api(base, token, f"/api/runs/{started['id']}")["run"])["active"] and run,
            timeout=120, interval=0.5, message="the scheduled run to finish",
        )
        assert (finished["status"], finished["trigger"], finished["worker"]) == ("completed", trigger,
                                                                                 started["worker"]), finished
        requested = Counter(entry["id"] for entry in peer.requests("stream"))
        assert len(requested) == STREAMS and set(requested.values()) == {1}, requested

        for process in [web, *workers, third]:
            assert_healthy(process)
        assert_healthy(beat, wait=90)
