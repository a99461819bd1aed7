"""Deployment files: the compose variants validate, .env.example documents every setting, and
`check --deploy` is clean under production settings."""

import json
import os
import re
import secrets
import subprocess
import sys

import pytest

from tests.deployment import compose_cli
from tests.helpers import ROOT

VARIANTS = {
    "postgres": ["docker-compose.yml"],
    "sqlite": ["docker-compose.sqlite.yml"],
    "postgres+traefik": ["docker-compose.yml", "docker-compose.traefik.yml"],
    "sqlite+traefik": ["docker-compose.sqlite.yml", "docker-compose.traefik.yml"],
}


@pytest.fixture(scope="module")
def compose():
    """`docker compose` as a command list (the pinned plugin binary: no Docker CLI needed), and an
    environment in which neither the caller's variables nor a developer's .env decide the outcome."""
    env = {name: value for name, value in os.environ.items()
           if not name.startswith(("POSTGRES_", "TRAEFIK_")) and name not in ("DATA_DIR", "PORT", "TZ", "COMPOSE_FILE")}
    return compose_cli(), env


def compose_config(compose, files, *extra):
    command, env = compose
    args = [*command, "--project-directory", str(ROOT)]
    for name in files:
        args += ["-f", str(ROOT / name)]
    return subprocess.run([*args, *extra, "config", "--format", "json"], capture_output=True, text=True, env=env,
                          cwd=ROOT)


@pytest.mark.parametrize("variant", VARIANTS)
@pytest.mark.parametrize("env_file", [None, ".env.example"])
def test_compose_config_is_valid(compose, variant, env_file):
    extra = ["--env-file", str(ROOT / env_file)] if env_file else ["--env-file", os.devnull]
    result = compose_config(compose, VARIANTS[variant], *extra)
    assert result.returncode == 0, result.stderr
    quiet = compose[0] + ["--project-directory", str(ROOT)]
    for name in VARIANTS[variant]:
        quiet += ["-f", str(ROOT / name)]
    assert subprocess.run([*quiet, *extra, "config", "-q"], env=compose[1], cwd=ROOT).returncode == 0

    services = json.loads(result.stdout)["services"]
    expected = {"migrate", "web", "worker", "follow-lane", "beat", "redis"} | ({"postgres"} if "postgres" in variant else set())
    assert set(services) == expected
    for name in expected - {"migrate"}:
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no healthcheck"
    for name in ("web", "worker", "follow-lane", "beat"):
        depends = services[name]["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["redis"]["condition"] == "service_healthy"
        if "postgres" in variant:
            assert depends["postgres"]["condition"] == "service_healthy"
        assert services[name]["volumes"][0]["target"] == "/data"
    web = " ".join(services["web"]["command"])
    assert "uvicorn_worker.UvicornWorker" in web and "prefetcher_site.asgi:application" in web
    worker = " ".join(services["worker"]["command"])
    assert "--prefetch-multiplier 1" in worker and services["worker"]["stop_grace_period"]
    lane = " ".join(services["follow-lane"]["command"])  # the companion's queue only, one task at a time
    assert '--queues "$${CELERY_QUEUE:-celery}.follow"' in lane and "--concurrency 1" in lane
    beat = services["beat"]["command"]
    # The scheduler comes from settings (schedules.scheduler:Scheduler, heartbeat included): no -S.
    assert beat[:4] == ["celery", "-A", "prefetcher_site", "beat"] and "-S" not in beat and "--scheduler" not in beat
    assert services["beat"].get("deploy", {}).get("replicas", 1) == 1
    database_url = services["web"]["environment"]["DATABASE_URL"]
    assert database_url.startswith("postgres://" if "postgres" in variant else "sqlite:////data/")
    labels = services["web"]["labels"]
    assert "traefik.http.routers.prefetcher.middlewares" in labels
    if "traefik" in variant:
        assert labels["traefik.enable"] == "true"


def test_env_example_documents_every_setting():
    settings_source = (ROOT / "prefetcher_site" / "settings.py").read_text()
    read = set(re.findall(r'env(?:\.\w+|_bool)\(\s*"([A-Z][A-Z0-9_]*)"', settings_source))
    assert {"DATA_DIR", "DATABASE_URL", "REDIS_URL", "SECRET_KEY", "NOTIFY_ON", "METRICS_TOKEN"} <= read
    documented = set(re.findall(r"^#?\s*([A-Z][A-Z0-9_]*)=", (ROOT / ".env.example").read_text(), re.MULTILINE))
    assert read - documented == set()
    for secret_file in ("SECRET_KEY_FILE", "ADMIN_PASSWORD_FILE"):
        assert secret_file in documented


def test_dockerfile_runs_as_a_configurable_non_root_user_and_collects_static():
    text = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.11-slim|^ARG PYTHON_IMAGE=python:3\.11-slim", text, re.MULTILINE)
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) >= 2  # multi-stage
    assert "ARG UID" in text and "ARG GID" in text
    assert re.search(r"^USER app$", text, re.MULTILINE)
    assert "collectstatic" in text


PRODUCTION_ENV = {
    "DEBUG": "false",
    "SECURE_COOKIES": "true",
    "USE_X_FORWARDED_PROTO": "true",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "ALLOWED_HOSTS": "prefetcher.example.com",
    "CSRF_TRUSTED_ORIGINS": "https://prefetcher.example.com",
}


def run_manage(args, tmp_path, **env):
    # Nothing from the test session leaks in (browser fixtures set DJANGO_ALLOW_ASYNC_UNSAFE).
    leaks = set(PRODUCTION_ENV) | {"DJANGO_ALLOW_ASYNC_UNSAFE", "DATABASE_URL", "REDIS_URL", "SECRET_KEY"}
    full_env = {key: value for key, value in os.environ.items() if key not in leaks}
    full_env.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="prefetcher_site.settings", **env)
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=full_env, capture_output=True,
                          text=True, timeout=120)


def test_deploy_security_checks_are_clean_under_production_settings(tmp_path):
    result = run_manage(["check", "--deploy", "--tag", "security", "--fail-level", "WARNING"], tmp_path,
                        SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_check_deploy_is_clean_under_production_settings(tmp_path):
    """Every deploy check, every app's (the API schema's too): the issue's definition of done."""
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], tmp_path,
                        SECRET_KEY=secrets.token_urlsafe(50), **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


def test_deploy_security_checks_are_clean_with_a_generated_secret_key_too(tmp_path):
    result = run_manage(["check", "--deploy", "--tag", "security", "--fail-level", "WARNING"], tmp_path,
                        **PRODUCTION_ENV)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "secret_key").exists()


def test_check_deploy_flags_debug_and_plain_http(tmp_path):
    result = run_manage(["check", "--deploy", "--fail-level", "WARNING"], tmp_path,
                        SECRET_KEY=secrets.token_urlsafe(50), DEBUG="true")
    assert result.returncode != 0
    assert "security.W018" in result.stderr + result.stdout  # DEBUG on
    assert "security.W012" in result.stderr + result.stdout  # session cookie not secure
