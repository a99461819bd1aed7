"""What the addon client says when it gets no usable answer: the admin configured the addon, so the
message names what happened (refused, reset, timeout, TLS, HTTP status, not JSON) and every failed
result carries its class. Real sockets on 127.0.0.1, no mocks."""

import datetime
import json
import socket
import ssl
import tempfile
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from ipaddress import ip_network
from pathlib import Path

import aiohttp
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from addons.client import AddonClient, ClientLimits, Failure, describe_transport_error
from addons.manifest import ManifestError
from addons.network_policy import REFUSED_TEXT, NetworkPolicy
from addons.retry import RetryPolicy
from tests.helpers import free_port, tcp_server

REFUSED = "connection refused — is the addon running?"
RESET = "connection reset by the addon"
# The default policy lets self-hosted addons on loopback through (only link-local and metadata are refused).
LOOPBACK_ALLOWED = ClientLimits(policy=NetworkPolicy())
QUICK_RETRIES = RetryPolicy(base_s=0.01, max_s=0.01)


def client(*, timeout_s: float = 3.0, retries: int = 1, limits: ClientLimits = LOOPBACK_ALLOWED) -> AddonClient:
    return AddonClient(timeout_s=timeout_s, retries=retries, retry_policy=QUICK_RETRIES, limits=limits)


# --- local servers ---------------------------------------------------------------------------------------
@contextmanager
def silent_port():
    """Listens (the kernel completes the handshake) and never reads nor answers."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(8)
        yield listener.getsockname()[1]


class Answers:
    """An HTTP addon whose path names its answer: /status/500, /text, /json; counts requests per path."""

    def __init__(self):
        self.requests: dict[str, int] = {}
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                outer.requests[self.path] = outer.requests.get(self.path, 0) + 1
                if self.path.startswith("/status/"):
                    status, body, kind = int(self.path.rsplit("/", 1)[1]), b"{}", "application/json"
                elif self.path == "/text":
                    status, body, kind = 200, b"<html>hello</html>", "text/html"
                else:
                    status, body, kind = 200, json.dumps({"streams": []}).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
                self.send_header("Content-Length", str(len(body)))
                if status == 429:
                    self.send_header("Retry-After", "0")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()


@pytest.fixture(scope="module")
def addon():
    answers = Answers()
    yield answers
    answers.server.shutdown()
    answers.server.server_close()


@contextmanager
def self_signed_tls_server():
    """A TLS server on 127.0.0.1 with a certificate nobody trusts; yields its port."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.timezone.utc)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1)).sign(key, hashes.SHA256())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    with tempfile.TemporaryDirectory() as folder:
        cert_file, key_file = Path(folder, "cert.pem"), Path(folder, "key.pem")
        cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
        key_file.write_bytes(key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        ))
        context.load_cert_chain(cert_file, key_file)

    def handshake(connection):
        try:
            context.wrap_socket(connection, server_side=True).close()
        except (ssl.SSLError, OSError):
            pass  # the client refuses the certificate

    with tcp_server(handshake) as port:
        yield port


# --- transport: no HTTP answer ---------------------------------------------------------------------------
async def test_a_closed_port_reads_connection_refused_and_is_retried():
    async with client() as addon_client:
        result = await addon_client.get_json(f"http://127.0.0.1:{free_port()}/manifest.json")
    assert (result.failure, result.error, result.status, result.attempts) == (Failure.TRANSPORT, REFUSED, None, 2)


async def test_a_server_that_hangs_up_reads_connection_reset():
    with tcp_server(lambda connection: None) as port:
        async with client() as addon_client:
            result = await addon_client.get_json(f"http://127.0.0.1:{port}/manifest.json")
    assert (result.failure, result.error, result.attempts) == (Failure.TRANSPORT, RESET, 2)


async def test_a_server_that_never_answers_reads_timed_out_after_the_client_timeout():
    with silent_port() as port:
        async with client(timeout_s=0.3, retries=0) as addon_client:
            result = await addon_client.get_json(f"http://127.0.0.1:{port}/manifest.json")
    assert (result.failure, result.error) == (Failure.TRANSPORT, "timed out after 0.3 s")


async def test_https_to_a_plain_http_port_reads_tls_error(addon):
    async with client(retries=0) as addon_client:
        result = await addon_client.get_json(addon.base.replace("http://", "https://") + "/json")
    assert result.failure == Failure.TRANSPORT
    assert result.error == "TLS error: wrong version number (is this port plain HTTP?)"


async def test_an_untrusted_certificate_reads_tls_error_with_the_reason():
    with self_signed_tls_server() as port:
        async with client(retries=0) as addon_client:
            result = await addon_client.get_json(f"https://127.0.0.1:{port}/manifest.json")
    assert (result.failure, result.error) == (Failure.TRANSPORT, "TLS error: self-signed certificate")


async def test_a_non_http_service_reads_not_a_valid_http_answer():
    with tcp_server(lambda connection: connection.sendall(b"-ERR unknown command\r\n")) as port:
        async with client(retries=0) as addon_client:
            result = await addon_client.get_json(f"http://127.0.0.1:{port}/manifest.json")
    assert result.failure == Failure.TRANSPORT and result.error.startswith("not a valid HTTP answer")


async def test_an_address_outside_the_network_policy_keeps_its_message_and_is_not_retried(addon):
    only_elsewhere = ClientLimits(policy=NetworkPolicy(allowed_networks=(ip_network("10.0.0.0/8"),)))
    async with client(limits=only_elsewhere) as addon_client:
        result = await addon_client.get_json(f"{addon.base}/policy")
    assert (result.failure, result.error, result.attempts) == (Failure.TRANSPORT, REFUSED_TEXT, 1)
    assert "/policy" not in addon.requests


def test_the_messages_for_failures_a_local_socket_cannot_stage():
    """DNS (needs a resolver), a reset seen as an errno, the timeout's format and the fallback: the
    same one function words them."""
    dns = aiohttp.ClientConnectorDNSError(None, socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert describe_transport_error(dns, 20) == "host not found (DNS)"
    assert describe_transport_error(aiohttp.ClientOSError(104, "Connection reset by peer"), 20) == RESET
    assert describe_transport_error(TimeoutError(), 20.0) == "timed out after 20 s"
    assert describe_transport_error(TimeoutError(), 2.5) == "timed out after 2.5 s"
    leaky = aiohttp.InvalidURL("http://addon.test/secret-token/manifest.json")
    assert describe_transport_error(leaky, 20) == "connection failed (InvalidURL)"  # never the URL


# --- an HTTP answer that is not usable -------------------------------------------------------------------
@pytest.mark.parametrize("status, failure, message, requests", [
    (500, Failure.HTTP_STATUS, "HTTP 500", 2),  # transient: retried once
    (503, Failure.HTTP_STATUS, "HTTP 503", 2),
    (429, Failure.HTTP_STATUS, "HTTP 429", 2),
    (403, Failure.HTTP_STATUS, "HTTP 403", 1),  # permanent
    (404, Failure.NOT_FOUND, "HTTP 404 (not found)", 1),
])
async def test_http_error_statuses(addon, status, failure, message, requests):
    async with client() as addon_client:
        result = await addon_client.get_json(f"{addon.base}/status/{status}")
    assert (result.failure, result.error, result.status) == (failure, message, status)
    assert result.attempts == requests and addon.requests[f"/status/{status}"] == requests


async def test_an_answer_that_is_not_json_reads_not_json_and_is_not_retried(addon):
    async with client() as addon_client:
        result = await addon_client.get_json(f"{addon.base}/text")
    assert (result.failure, result.error, result.status, result.attempts) == (Failure.NOT_AN_ANSWER, "not JSON", 200, 1)


async def test_a_json_answer_has_no_failure(addon):
    async with client() as addon_client:
        result = await addon_client.get_json(f"{addon.base}/json")
    assert result.ok and result.failure is None and result.data == {"streams": []}


# --- touch and the manifest -------------------------------------------------------------------------------
async def test_touch_names_its_failures_too(addon):
    async with client() as addon_client:
        refused = await addon_client.touch(f"http://127.0.0.1:{free_port()}/resolve")
        missing = await addon_client.touch(f"{addon.base}/status/404")
        broken = await addon_client.touch(f"{addon.base}/status/502")
        fine = await addon_client.touch(f"{addon.base}/json")
    assert (refused.failure, refused.error) == (Failure.TRANSPORT, REFUSED)
    assert (missing.failure, missing.error) == (Failure.NOT_FOUND, "HTTP 404 (not found)")
    assert (broken.failure, broken.error) == (Failure.HTTP_STATUS, "HTTP 502")
    assert fine.ok and fine.failure is None


async def test_the_manifest_error_shows_what_happened(addon):
    async with client(retries=0) as addon_client:
        with pytest.raises(ManifestError) as raised:
            await addon_client.fetch_manifest(f"http://127.0.0.1:{free_port()}/manifest.json")
        with pytest.raises(ManifestError, match=r"^Could not fetch the manifest: HTTP 404 \(not found\)\.$"):
            await addon_client.fetch_manifest(f"{addon.base}/status/404")
    assert str(raised.value) == f"Could not fetch the manifest: {REFUSED}"
