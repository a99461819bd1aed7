"""Settings come from the environment, strictly; the defaults make a working embedded install."""

import os
import subprocess
import sys

from tests.helpers import ROOT


def settings_of(tmp_path, code: str, **env):
    full_env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "SECRET_KEY", "DEBUG")}
    full_env.update({"DATA_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "prefetcher_site.settings", **env})
    return subprocess.run(
        [sys.executable, "-c", f"import django; django.setup(); from django.conf import settings as s; {code}"],
        cwd=ROOT, env=full_env, capture_output=True, text=True, timeout=60,
    )


def test_embedded_defaults(tmp_path):
    done = settings_of(
        tmp_path,
        "print(s.DEBUG, s.EMBEDDED, s.CELERY_BROKER_URL, s.DATABASES['default']['NAME'], "
        "s.CHANNEL_LAYERS['default']['BACKEND'])",
    )
    assert done.returncode == 0, done.stderr
    debug, embedded, broker, db_name, layer = done.stdout.split()
    assert (debug, embedded, broker) == ("False", "True", "memory://localhost/")
    assert db_name == str(tmp_path / "db" / "prefetcher.sqlite3")
    assert layer.endswith("InMemoryChannelLayer")

    blank = settings_of(tmp_path, "print(s.DATABASES['default']['NAME'])", DATABASE_URL="", REDIS_URL="")
    assert blank.returncode == 0, blank.stderr  # blank lines in .env mean the defaults
    assert blank.stdout.strip() == db_name


def test_secret_key_is_generated_once_and_kept(tmp_path):
    first = settings_of(tmp_path, "print(s.SECRET_KEY)").stdout.strip()
    second = settings_of(tmp_path, "print(s.SECRET_KEY)").stdout.strip()
    assert len(first) >= 50 and first == second
    assert (tmp_path / "secret_key").stat().st_mode & 0o777 == 0o600


def test_secret_from_file_and_redis_mode(tmp_path):
    secret_file = tmp_path / "key.txt"
    secret_file.write_text("from-a-docker-secret")
    done = settings_of(
        tmp_path, "print(s.SECRET_KEY, s.EMBEDDED, s.CELERY_BROKER_URL, s.CHANNEL_LAYERS['default']['BACKEND'])",
        SECRET_KEY_FILE=str(secret_file), REDIS_URL="redis://127.0.0.1:6379/3",
    )
    assert done.stdout.split() == [
        "from-a-docker-secret", "False", "redis://127.0.0.1:6379/3", "channels_redis.core.RedisChannelLayer",
    ]


def test_booleans_and_log_level_are_strict(tmp_path):
    for env in ({"DEBUG": "yes please"}, {"LOG_LEVEL": "LOUD"}):
        done = settings_of(tmp_path, "print(s.DEBUG)", **env)
        assert done.returncode != 0
        assert "ImproperlyConfigured" in done.stderr
    assert settings_of(tmp_path, "print(s.DEBUG)", DEBUG="on").stdout.strip() == "True"


def test_installations_sharing_a_redis_keep_apart_by_their_queue_name(tmp_path):
    """The queue also names the workers' control messages (a health ping hears only this
    installation's workers) and the progress channels."""
    code = ("from prefetcher_site.celery import app; print(app.conf.task_default_queue, "
            "app.control.mailbox.exchange.name, s.CHANNEL_LAYERS['default']['CONFIG']['prefix'])")
    done = settings_of(tmp_path, code, REDIS_URL="redis://127.0.0.1:6379/3", CELERY_QUEUE="home")
    assert done.stdout.split() == ["home", "home.pidbox", "asgi-home"], done.stderr
