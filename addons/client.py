"""The only HTTP client that talks to addons.

Async (aiohttp) so that one run can keep several requests in flight per addon; a small sync
helper serves the web pages and the CLI, which only need a manifest now and then. Transient
failures (connect errors, timeouts, 429, 5xx) are retried with the waits of the retry policy
(retry.py: doubling, lengthened by `Retry-After`); everything else fails at once. Every connection obeys the network policy
(network_policy.py), and an address it refuses is reported as such and not retried.

The admin configures the addons, so a failure says what happened in plain words ("connection
refused — is the addon running?", "host not found (DNS)", "timed out after 20 s", "HTTP 503",
"not JSON" …; see describe_transport_error and describe_status) and every failed FetchResult
carries its class (Failure): an operator looking at a stopped container is not sent to debug the
addon's answers.
"""

import asyncio
import errno
import json
import re
import socket
import ssl
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any
from urllib.parse import quote

import aiohttp
import ijson
from asgiref.sync import async_to_sync
from yarl import URL

from .manifest import Manifest, ManifestError
from .network_policy import AddressNotAllowed, NetworkPolicy, PolicyConnector, proxied_target_checks
from .retry import RetryPolicy, retry_after_seconds

# backoff(seconds, status or None, Retry-After seconds or None): waits between two attempts.
Backoff = Callable[[float, int | None, float | None], Awaitable[None]]
USER_AGENT = "StreamsPrefetcher/1.0 (+self-hosted cache warmer)"
MB = 1024 * 1024
READ_CHUNK = 64 * 1024


# A JSON \u escape of a lone surrogate (half of a pair without its other half) decodes to text that is
# not Unicode, which no database stores (an addon's name was a 500 on adding it). Escaped backslashes
# are matched first so that `\\ud800` (a backslash, then "ud800") is left as it is.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_UNICODE_ESCAPES = re.compile(
    rb"\\\\|\\u[dD][89abAB][0-9a-fA-F]{2}\\u[dD][c-fC-F][0-9a-fA-F]{2}|\\u[dD][89a-fA-F][0-9a-fA-F]{2}"
)
LONE_SURROGATE_ESCAPE_LENGTH = 6


def lone_surrogates_replaced(body: bytes) -> bytes:
    """A JSON body with its lone surrogate escapes replaced by U+FFFD (a pass only when it has one)."""
    if not _SURROGATE_ESCAPE.search(body):
        return body
    return _UNICODE_ESCAPES.sub(
        lambda escape: rb"\ufffd" if len(escape[0]) == LONE_SURROGATE_ESCAPE_LENGTH else escape[0], body)


def parse_addon_json(body: bytes) -> Any:
    """An addon's JSON answer as Unicode text only: lone surrogate escapes replaced, and bytes that are
    not UTF-8 (surrogates encoded as bytes among them) refused as "not JSON" (a ValueError)."""
    return json.loads(lone_surrogates_replaced(body).decode("utf-8-sig"))


class Failure(StrEnum):
    """Why a request got no usable answer. Only TRANSPORT says the addon itself is in trouble; the
    others are about one request (one title)."""

    TRANSPORT = "transport"  # refused, reset, DNS, TLS, timeout, address not allowed: no HTTP answer
    HTTP_STATUS = "http_status"  # an HTTP error status other than 404
    NOT_AN_ANSWER = "not_an_answer"  # not JSON, too large, or JSON of the wrong shape
    NOT_FOUND = "not_found"  # HTTP 404: the addon does not have it


@dataclass
class FetchResult:
    status: int | None
    data: Any = None
    error: str | None = None
    latency_ms: float = 0.0
    attempts: int = 1
    cache_control: str | None = None  # the answer's Cache-Control header(s), comma-joined
    failure: Failure | None = None  # set with `error`

    @property
    def ok(self) -> bool:
        return self.error is None


class TransientError(Exception):
    def __init__(self, message: str, failure: Failure, status: int | None = None, retry_after: float | None = None):
        super().__init__(message)
        self.failure = failure
        self.status = status
        self.retry_after = retry_after


class PermanentError(Exception):
    def __init__(self, message: str, failure: Failure, status: int | None = None):
        super().__init__(message)
        self.failure = failure
        self.status = status


CONNECTION_REFUSED = "connection refused — is the addon running?"
CONNECTION_RESET = "connection reset by the addon"
_ERRNO_TEXTS = {
    errno.ECONNREFUSED: CONNECTION_REFUSED,
    errno.ECONNRESET: CONNECTION_RESET,
    errno.ECONNABORTED: CONNECTION_RESET,
    errno.EPIPE: CONNECTION_RESET,
    errno.ETIMEDOUT: "connection timed out (the host did not answer)",
    errno.EHOSTUNREACH: "host unreachable",
    errno.ENETUNREACH: "network unreachable",
}


def describe_transport_error(error: BaseException, timeout_s: float | None) -> str:
    """What went wrong when no usable HTTP answer came, in plain words for the admin (who configured
    the addon): refused, reset, DNS, TLS, timeout. `timeout_s` is the client's total timeout."""
    if isinstance(error, aiohttp.ClientHttpProxyError):
        return f"the proxy answered HTTP {error.status}"
    if isinstance(error, aiohttp.ClientProxyConnectionError):
        return f"could not connect to the proxy ({error.os_error.strerror or error.os_error})"
    if isinstance(error, asyncio.TimeoutError):  # also aiohttp.ServerTimeoutError
        return f"timed out after {timeout_s:g} s" if timeout_s else "timed out"
    if isinstance(error, (aiohttp.ClientSSLError, ssl.SSLError)):  # handshake failed, certificate refused
        cause = getattr(error, "certificate_error", None) or getattr(error, "os_error", None) or error
        if getattr(cause, "verify_message", None):
            return f"TLS error: {cause.verify_message}"  # "self-signed certificate", "certificate has expired" …
        code = getattr(cause, "reason", None)
        if code == "WRONG_VERSION_NUMBER":
            return "TLS error: wrong version number (is this port plain HTTP?)"
        return f"TLS error: {code.replace('_', ' ').lower() if code else cause}"
    if isinstance(error, (aiohttp.ClientConnectorDNSError, socket.gaierror)):
        return "host not found (DNS)"
    if isinstance(error, aiohttp.ClientPayloadError):
        return "the answer was cut off"
    if isinstance(error, aiohttp.TooManyRedirects):
        return "too many redirects"
    if isinstance(error, aiohttp.ClientResponseError):  # the answer's status line or headers did not parse
        return "not a valid HTTP answer (is another service on this port?)"
    os_error = error.os_error if isinstance(error, aiohttp.ClientConnectorError) else error
    if isinstance(os_error, ConnectionRefusedError):
        return CONNECTION_REFUSED
    hung_up = isinstance(error, aiohttp.ServerDisconnectedError)
    if hung_up or isinstance(os_error, (ConnectionResetError, BrokenPipeError)):
        return CONNECTION_RESET  # aiohttp.ClientConnectionResetError is a ConnectionResetError
    if isinstance(os_error, OSError) and os_error.errno in _ERRNO_TEXTS:  # e.g. aiohttp.ClientOSError(ECONNRESET)
        return _ERRNO_TEXTS[os_error.errno]
    if isinstance(os_error, OSError):
        return f"could not connect: {os_error.strerror or os_error or type(os_error).__name__}"
    return f"connection failed ({type(error).__name__})"  # never str(error): it may hold the URL and its secrets


def describe_status(status: int) -> tuple[str, Failure]:
    """The message and class for an HTTP status that is not a usable answer."""
    if status == 404:
        return "HTTP 404 (not found)", Failure.NOT_FOUND
    return f"HTTP {status}", Failure.HTTP_STATUS


@dataclass(frozen=True)
class ClientLimits:
    """What the deployment lets the client do (built from the settings by addons.services.client_limits).
    Sizes are decoded sizes: a small gzip may expand to gigabytes."""

    max_manifest_bytes: int = 5 * MB
    max_answer_bytes: int = 20 * MB
    max_page_items: int = 10_000  # metas taken from one catalog page; the rest are counted only
    policy: NetworkPolicy = NetworkPolicy()


@dataclass
class CatalogPage:
    metas: list  # the first entries of the answer's metas list (at most ClientLimits.max_page_items)
    listed: int  # how many entries the list had


def parse_catalog_page(body: bytes, max_items: int) -> CatalogPage | None:
    """A catalog answer's metas, read one at a time: only the first `max_items` are kept, so a page of
    100,000 metas costs what one of `max_items` does (json.loads would build all of them at once,
    several times the answer's size). None when the answer has no metas list."""
    try:
        events = ijson.parse(lone_surrogates_replaced(body), use_float=True)
        for prefix, event, _ in events:
            if prefix == "metas":
                if event != "start_array":
                    return None
                break
        else:
            return None
        page = CatalogPage([], 0)
        for meta in ijson.items(events, "metas.item", use_float=True):
            if page.listed < max_items:
                page.metas.append(meta)
            page.listed += 1
        return page
    except ijson.JSONError as error:  # the client's callers know ValueError as "not JSON"
        raise ValueError(str(error)) from None


class AddonClient:
    """One aiohttp session for one run (or one web request). Use as an async context manager."""

    def __init__(
        self,
        *,
        timeout_s: float = 30.0,
        retries: int = 2,
        proxy: str | None = None,
        retry_policy: RetryPolicy = RetryPolicy(),
        limits: ClientLimits = ClientLimits(),
    ):
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)
        self.retries = max(0, retries)
        self.proxy = proxy or None
        self.retry_policy = retry_policy
        self.limits = limits
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self):
        connector = PolicyConnector(self.limits.policy, limit=0, ttl_dns_cache=300)
        self._session = aiohttp.ClientSession(
            connector=connector,
            trace_configs=[proxied_target_checks(self.limits.policy)] if self.proxy else None,
            timeout=self.timeout,
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        )
        return self

    async def __aexit__(self, *exc):
        await self._session.close()

    async def _get_json_once(
        self, url: str, max_bytes: int, parse: Callable[[bytes], Any]
    ) -> tuple[int, Any, str | None]:
        try:
            async with self._session.get(_as_sent(url), proxy=self.proxy) as response:
                status = response.status
                if status == 429 or status >= 500:
                    message, failure = describe_status(status)
                    raise TransientError(
                        message, failure, status, retry_after_seconds(response.headers.get("Retry-After"))
                    )
                if status != 200:
                    raise PermanentError(*describe_status(status), status)
                body = await _read_capped(response, max_bytes)
                cache_control = ", ".join(response.headers.getall("Cache-Control", [])) or None
        except AddressNotAllowed as error:
            raise PermanentError(str(error), Failure.TRANSPORT) from None
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as error:
            raise TransientError(describe_transport_error(error, self.timeout.total), Failure.TRANSPORT) from error
        try:
            return status, parse(body), cache_control
        except ValueError:
            raise PermanentError("not JSON", Failure.NOT_AN_ANSWER, status) from None

    async def get_json(
        self, url: str, max_bytes: int | None = None, *, backoff: Backoff | None = None,
        parse: Callable[[bytes], Any] = parse_addon_json,
    ) -> FetchResult:
        """GET and decode JSON, retrying transient failures. `backoff(seconds, status, retry_after)`
        replaces the plain sleep between attempts (the engine's adaptive pace learns of the refusal
        at once and does not count the waiting request as in flight). `parse` turns the body into
        `data` (a ValueError is "not JSON")."""
        # A plain loop, not tenacity's AsyncRetrying: that one inspects a dozen callables per request,
        # a fifth of the engine's own time per stream request against a fast addon.
        for attempt in range(1, self.retries + 2):
            started = time.perf_counter()
            try:
                status, data, cache_control = await self._get_json_once(
                    url, max_bytes or self.limits.max_answer_bytes, parse)
            except PermanentError as error:
                return _failed(error, started, attempt)
            except TransientError as error:
                if attempt > self.retries:
                    return _failed(error, started, attempt)
                wait_s = self.retry_policy.wait_s(attempt, error.retry_after)
                if backoff is None:
                    await asyncio.sleep(wait_s)
                else:
                    await backoff(wait_s, error.status, error.retry_after)
            else:
                return FetchResult(status, data, None, _ms_since(started), attempt, cache_control)

    async def get_catalog_page(self, url: str, *, backoff: Backoff | None = None) -> FetchResult:
        """A catalog page: `data` is a CatalogPage, or None when the answer has no metas list."""
        max_items = self.limits.max_page_items
        return await self.get_json(url, backoff=backoff, parse=lambda body: parse_catalog_page(body, max_items))

    async def touch(self, url: str) -> FetchResult:
        """GET that follows redirects and reads no body: enough to make a debrid resolver start work."""
        started = time.perf_counter()
        try:
            async with self._session.get(_as_sent(url), proxy=self.proxy, allow_redirects=True) as response:
                status = response.status
        except AddressNotAllowed as error:
            return FetchResult(None, None, str(error), _ms_since(started), failure=Failure.TRANSPORT)
        except (asyncio.TimeoutError, aiohttp.ClientError, OSError) as error:
            message = describe_transport_error(error, self.timeout.total)
            return FetchResult(None, None, message, _ms_since(started), failure=Failure.TRANSPORT)
        if status < 400:
            return FetchResult(status, None, None, _ms_since(started))
        message, failure = describe_status(status)
        return FetchResult(status, None, message, _ms_since(started), failure=failure)

    async def fetch_manifest(self, url: str) -> Manifest:
        result = await self.get_json(url, self.limits.max_manifest_bytes)
        if not result.ok:
            end = "" if result.error.endswith("?") else "."  # "… is the addon running?" ends itself
            raise ManifestError(f"Could not fetch the manifest: {result.error}{end}")
        return Manifest(result.data)


async def _read_capped(response: aiohttp.ClientResponse, max_bytes: int) -> bytes:
    """The decoded body, read as it streams in, refused as soon as it passes `max_bytes`."""
    too_large = PermanentError(f"answer larger than {max_bytes / MB:g} MB", Failure.NOT_AN_ANSWER, response.status)
    if "Content-Encoding" not in response.headers and (response.content_length or 0) > max_bytes:
        raise too_large
    body = bytearray()
    async for chunk in response.content.iter_chunked(READ_CHUNK):
        body += chunk
        if len(body) > max_bytes:
            raise too_large
    return bytes(body)


def _as_sent(url: str) -> URL:
    """Send our percent-encoding exactly: yarl would otherwise decode `%26` back to `&` in a path.
    Characters a user pasted unencoded are encoded; existing escapes stay as they are."""
    return URL(quote(url, safe=":/?#[]@!$&'()*+,;=%~"), encoded=True)


def _failed(error: TransientError | PermanentError, started: float, attempt: int) -> FetchResult:
    return FetchResult(error.status, None, str(error), _ms_since(started), attempt, failure=error.failure)


def _ms_since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0


def fetch_manifest_sync(
    url: str, *, timeout_s: float = 15.0, proxy: str | None = None, retries: int = 1, limits: ClientLimits = ClientLimits()
) -> Manifest:
    """For views and commands: fetch and validate one manifest. Raises ManifestError."""

    async def fetch():
        async with AddonClient(timeout_s=timeout_s, retries=retries, proxy=proxy, limits=limits) as client:
            return await client.fetch_manifest(url)

    return async_to_sync(fetch)()
