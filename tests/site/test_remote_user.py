"""Optional sign-in by a trusted reverse proxy's Remote-User header (subprocess: middleware is chosen at start-up)."""

import os
import subprocess
import sys
import textwrap

from tests.helpers import ROOT

PROBE = textwrap.dedent("""
    import django
    django.setup()
    from django.core.management import call_command
    call_command("migrate", verbosity=0)
    from django.contrib.auth import get_user_model
    get_user_model().objects.create_user("existing", password="x")  # past the first-run page
    from django.test import Client
    client = Client()
    def status(addr, user=None):
        headers = {"HTTP_REMOTE_USER": user} if user else {}
        return Client().get("/settings/", REMOTE_ADDR=addr, **headers).status_code
    print(status("10.0.0.5", "alice"), status("192.168.1.9", "mallory"), status("10.0.0.5"))
    print(sorted(get_user_model().objects.values_list("username", flat=True)))
""")


def probe(tmp_path, **env):
    full = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    full.update(DATA_DIR=str(tmp_path), DJANGO_SETTINGS_MODULE="prefetcher_site.settings", **env)
    return subprocess.run([sys.executable, "-c", PROBE], cwd=ROOT, env=full, capture_output=True, text=True, timeout=120)


def test_header_signs_in_only_from_the_trusted_proxy(tmp_path):
    done = probe(tmp_path, REMOTE_USER_TRUSTED_PROXIES="10.0.0.0/24")
    assert done.returncode == 0, done.stderr
    statuses, users = done.stdout.strip().splitlines()[-2:]  # after any log lines
    assert statuses.split() == ["200", "302", "302"]  # proxy + header: in; stranger with header: login page
    assert users == "['alice', 'existing']"  # mallory was never created
    assert "not a trusted proxy" in done.stdout + done.stderr


def test_off_unless_proxies_are_configured(tmp_path):
    done = probe(tmp_path)
    statuses, users = done.stdout.strip().splitlines()[-2:]
    assert statuses.split() == ["302", "302", "302"]
    assert users == "['existing']"


def test_a_bad_proxy_address_is_a_configuration_error(tmp_path):
    done = probe(tmp_path, REMOTE_USER_TRUSTED_PROXIES="traefik")
    assert done.returncode != 0 and "REMOTE_USER_TRUSTED_PROXIES" in done.stderr
