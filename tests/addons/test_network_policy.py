"""The network policy for addon URLs: checked on resolved addresses before connecting, at every
redirect hop and at input. A refused address keeps its own text and is not retried; whatever else
gives no HTTP answer is named for what happened (the admin configured the addon) and is retried."""

import asyncio
import socket
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler
from ipaddress import ip_address, ip_network

import aiohttp.connector
import pytest

from addons.client import AddonClient, Failure
from addons.models import Addon
from addons.network_policy import INPUT_REFUSAL, REFUSED_TEXT
from addons.retry import RetryPolicy
from addons.services import client_limits
from prefetch.models import PrefetchSettings
from tests.helpers import free_port, json_addon, local_server, settings_post_data, tcp_server

MANIFEST = {"id": "local", "name": "Local", "version": "1.0.0", "types": ["movie"], "resources": ["stream"], "catalogs": []}
LOOPBACK_SPELLINGS = ["0x7f.1", "2130706433", "127.1", "0177.0.0.1", "[::ffff:127.0.0.1]"]
REFUSED_HOSTS = [
    "169.254.169.254", "[fd00:ec2::254]", "[::ffff:169.254.169.254]", "[fe80::1]", "0.0.0.0", "[::]",
    "metadata.test",  # a DNS name pointing at 169.254.169.254 (see `connections`)
]


def is_loopback(address: str) -> bool:
    ip = ip_address(address)
    return (getattr(ip, "ipv4_mapped", None) or ip).is_loopback


@pytest.fixture
def connections(monkeypatch):
    """The addresses the client tried to connect to. Only loopback is really connected to, so that
    a broken policy fails the test without sending a packet; `metadata.test` resolves to the metadata IP."""
    attempted: list[str] = []
    real_connect = aiohttp.connector.aiohappyeyeballs.start_connection
    real_getaddrinfo = socket.getaddrinfo

    async def recording_connect(addr_infos, **kwargs):
        addresses = [info[4][0] for info in addr_infos]
        attempted.extend(addresses)
        if not all(is_loopback(address) for address in addresses):
            raise OSError("only loopback is reachable in tests")
        return await real_connect(addr_infos, **kwargs)

    def getaddrinfo(host, port, *args, **kwargs):
        if host == "metadata.test":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("169.254.169.254", port))]
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(aiohttp.connector.aiohappyeyeballs, "start_connection", recording_connect)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return attempted


def fetch(url: str, *, follow: bool = False, retries: int = 0, proxy: str | None = None):
    async def run():
        async with AddonClient(
            timeout_s=5, retries=retries, retry_policy=RetryPolicy(base_s=0), proxy=proxy, limits=client_limits()
        ) as client:
            return await (client.touch(url) if follow else client.get_json(url))

    return asyncio.run(run())


def on_host(url: str, host: str) -> str:
    return url.replace("127.0.0.1", host)


# --- the resolved address decides -------------------------------------------------------------------
@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_numeric_spellings_of_loopback_reach_a_local_addon_by_default(host, connections):
    with json_addon(lambda path: MANIFEST) as url:
        result = fetch(on_host(url, host))
    assert result.ok and result.data["id"] == "local"


@pytest.mark.parametrize("host", LOOPBACK_SPELLINGS)
def test_numeric_spellings_of_loopback_are_refused_by_an_allow_list_without_loopback(host, settings, connections):
    settings.ADDON_ALLOWED_NETWORKS = [ip_network("192.168.0.0/16")]
    with json_addon(lambda path: MANIFEST) as url:
        result = fetch(on_host(url, host))
    assert result.error == REFUSED_TEXT and result.attempts == 1  # our policy: not retried
    assert connections == []


def test_allow_lists_admit_listed_networks_and_host_names(settings):
    with json_addon(lambda path: MANIFEST) as url:
        settings.ADDON_ALLOWED_NETWORKS = [ip_network("127.0.0.0/8")]
        assert fetch(on_host(url, "127.1")).ok
        settings.ADDON_ALLOWED_NETWORKS, settings.ADDON_ALLOWED_HOSTS = [], ["localhost"]
        assert fetch(on_host(url, "localhost")).ok
        assert fetch(url).error == REFUSED_TEXT  # 127.0.0.1 is not a listed host name


@pytest.mark.parametrize("host", REFUSED_HOSTS)
def test_link_local_and_metadata_addresses_are_refused_before_connecting(host, connections):
    result = fetch(f"http://{host}/latest/meta-data/")
    assert result.error == REFUSED_TEXT and result.attempts == 1
    assert connections == []


def test_a_listed_network_lifts_the_metadata_refusal(settings, connections):
    settings.ADDON_ALLOWED_NETWORKS = [ip_network("169.254.169.254/32")]
    result = fetch("http://metadata.test/latest/meta-data/")
    assert result.failure == Failure.TRANSPORT  # connected (the test stand-in fails there), not refused by the policy
    assert result.error == "could not connect: only loopback is reachable in tests"
    assert connections == ["169.254.169.254"]


# --- redirects ---------------------------------------------------------------------------------------
@contextmanager
def redirecting_server(location: str, seen: list[str] | None = None):
    """`/start` redirects to `location` (`{port}` filled in); any other path answers 200. Also works
    as an HTTP proxy (paths then arrive as whole URLs); the requested paths are added to `seen`."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            if seen is not None:
                seen.append(self.path)
            if self.path.endswith("/start"):
                self.send_response(302)
                self.send_header("Location", location.format(port=self.server.server_address[1]))
            else:
                self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args):
            pass

    with local_server(Handler) as base:
        yield f"{base}/start"


def test_redirects_within_the_policy_are_followed(connections):
    with redirecting_server("http://127.1:{port}/final") as url:
        result = fetch(url, follow=True)
    assert result.ok and result.status == 200


def test_a_redirect_to_the_metadata_address_is_refused_before_connecting(connections):
    with redirecting_server("http://169.254.169.254/latest/meta-data/") as url:
        result = fetch(url, follow=True)
    assert result.error == REFUSED_TEXT
    assert connections == ["127.0.0.1"]  # the first hop only


def test_a_redirect_outside_the_allow_list_is_refused(settings, connections):
    settings.ADDON_ALLOWED_NETWORKS = [ip_network("127.0.0.1/32")]
    with redirecting_server("http://127.0.0.2:{port}/final") as url:
        result = fetch(url, follow=True)
    assert result.error == REFUSED_TEXT and connections == ["127.0.0.1"]


def test_through_a_proxy_the_target_and_every_hop_are_checked_here(settings):
    seen: list[str] = []
    with redirecting_server("http://169.254.169.254/latest/meta-data/", seen) as url:
        proxy = url.removesuffix("/start")
        assert fetch("http://127.0.0.1:9/final", follow=True, proxy=proxy).ok
        assert fetch("http://169.254.169.254/latest/meta-data/", proxy=proxy).error == REFUSED_TEXT
        assert fetch("http://127.0.0.1:9/start", follow=True, proxy=proxy).error == REFUSED_TEXT
    assert seen == ["http://127.0.0.1:9/final", "http://127.0.0.1:9/start"]  # never the metadata URL


# --- what is not an HTTP answer ------------------------------------------------------------------------
def manifest_url(port: int) -> str:
    return f"http://127.0.0.1:{port}/manifest.json"


@pytest.mark.parametrize("follow", [False, True])
def test_closed_ports_and_non_http_services_say_what_happened(follow):
    with (tcp_server(lambda connection: None) as hangs_up,
          tcp_server(lambda connection: connection.sendall(b"-ERR unknown command\r\n")) as speaks_redis):
        results = [fetch(manifest_url(port), follow=follow) for port in (free_port(), hangs_up, speaks_redis)]
    assert [result.failure for result in results] == [Failure.TRANSPORT] * 3
    assert [result.error for result in results] == [
        "connection refused — is the addon running?",
        "connection reset by the addon",
        "not a valid HTTP answer (is another service on this port?)",
    ]


def test_connection_failures_are_still_retried():
    assert fetch(manifest_url(free_port()), retries=2).attempts == 3


# --- input validation --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/api/addons", "/api/addon/manifest"])
def test_adding_an_addon_at_a_refused_address_is_a_field_error(api, path, connections):
    response = api.post(path, {"url": "http://169.254.169.254/manifest.json"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["url"] == [INPUT_REFUSAL]
    assert connections == [] and not Addon.objects.exists()


def test_moving_an_addon_to_a_refused_address_is_a_field_error(api):
    addon = Addon.objects.create(url="http://127.0.0.1:9/manifest.json", name="Local")
    response = api.patch(f"/api/addons/{addon.pk}", {"url": "http://[fd00:ec2::254]/manifest.json"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["url"] == [INPUT_REFUSAL]
    addon.refresh_from_db()
    assert addon.url == "http://127.0.0.1:9/manifest.json"


def test_a_refused_fallback_meta_url_is_a_field_error_in_the_api(api):
    response = api.patch("/api/config", {"fallback_meta_url": "http://0x7f.1/manifest.json"}, format="json")
    assert response.status_code == 200  # loopback: allowed by default
    response = api.patch("/api/config", {"fallback_meta_url": "http://169.254.169.254/manifest.json"}, format="json")
    assert response.status_code == 400 and response.json()["errors"]["fallback_meta_url"] == [INPUT_REFUSAL]
    assert PrefetchSettings.load().fallback_meta_url == "http://0x7f.1/manifest.json"


def test_a_refused_fallback_meta_url_is_a_form_error_on_the_settings_page(client, owner):
    client.force_login(owner)
    before = PrefetchSettings.load().fallback_meta_url
    response = client.post("/settings/", settings_post_data(fallback_meta_url="http://[::ffff:169.254.169.254]/"))
    assert response.status_code == 400 and INPUT_REFUSAL in response.content.decode()
    assert PrefetchSettings.load().fallback_meta_url == before


def test_manifest_fetches_of_the_api_and_the_admin_go_through_the_proxy_of_the_settings(api, client, owner):
    seen: list[str] = []
    with redirecting_server("http://127.0.0.1:9/", seen) as url:
        row = PrefetchSettings.load()
        row.proxy_url = url.removesuffix("/start")
        row.save()
        api.post("/api/addon/manifest", {"url": "http://127.0.0.1:9/api/manifest.json"}, format="json")
        probed = Addon.objects.create(url="http://127.0.0.1:9/health/manifest.json", name="Probed")
        api.post("/api/addons/health/check")  # "Check now"
        probed.delete()
        client.force_login(owner)
        client.post("/admin/addons/addon/add/", {
            "url": "http://127.0.0.1:9/admin/manifest.json", "role": "both", "enabled": "on",
            "catalog_set-TOTAL_FORMS": "0", "catalog_set-INITIAL_FORMS": "0",
        })
    assert seen == ["http://127.0.0.1:9/api/manifest.json", "http://127.0.0.1:9/health/manifest.json",
                    "http://127.0.0.1:9/admin/manifest.json"]
