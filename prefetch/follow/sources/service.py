"""What the two watch services share: one JSON-over-HTTP call with plain errors, and a bounded wait
when the service asks for one (429/503 with Retry-After). Secrets travel in headers and bodies only,
never in a URL or an error message."""

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from urllib.parse import urlsplit

import requests

from addons.retry import retry_after_seconds

# What kind of failure, so the caller can say what to do next.
SIGNED_OUT = "signed_out"  # the session or token is no longer accepted: sign in / connect again
REFUSED = "refused"  # the service said no to what was sent (wrong password, unknown code)
UNREACHABLE = "unreachable"  # no answer: connection refused, timeout
UNAVAILABLE = "unavailable"  # 5xx, or still busy (429/503) after the bounded retries
BAD_ANSWER = "bad_answer"  # an answer of the wrong shape

BUSY_STATUSES = (429, 503)


class ServiceError(Exception):
    """A failure said plainly, prefixed with the service's name ("Trakt: …"); never holds a secret."""

    def __init__(self, service: str, message: str, kind: str, status: int | None = None):
        super().__init__(f"{service}: {message}")
        self.service = service
        self.message = message
        self.kind = kind
        self.status = status


@dataclass
class _Busy(Exception):
    status: int
    wait_s: float


class JsonService:
    """Calls one service: `request()` answers the `requests.Response` of any status the caller reads
    itself, after at most `attempts` tries while the service is busy (waiting what it asks, at most
    `max_wait_s`; longer than that and it fails at once rather than hold a sync)."""

    def __init__(self, service: str, base_url: str, *, session: requests.Session | None = None,
                 timeout_s: float = 15.0, attempts: int = 3, max_wait_s: float = 30.0,
                 sleep: Callable[[float], None] = time.sleep,
                 wall_clock: Callable[[], datetime] = lambda: datetime.now(timezone.utc)):
        self.service = service
        self.base_url = base_url.rstrip("/")
        self.host = urlsplit(self.base_url).netloc or self.base_url
        self.session = session or requests.Session()
        self.timeout_s = timeout_s
        self.attempts = attempts
        self.max_wait_s = max_wait_s
        self.wall_clock = wall_clock
        self.sleep = sleep

    def error(self, message: str, kind: str, status: int | None = None) -> ServiceError:
        return ServiceError(self.service, message, kind, status)

    def request(self, method: str, path: str, *, busy_statuses=BUSY_STATUSES, **options) -> requests.Response:
        """`busy_statuses`: the statuses waited out (a caller reading 429 as an answer of its own leaves it out)."""
        for attempt in range(1, self.attempts + 1):
            try:
                return self._once(method, path, busy_statuses, **options)
            except _Busy as busy:
                if attempt == self.attempts:
                    raise self.error(f"still busy after {self.attempts} tries (HTTP {busy.status}); try again later",
                                     UNAVAILABLE, busy.status) from None
                self.sleep(busy.wait_s)

    def _once(self, method: str, path: str, busy_statuses, **options) -> requests.Response:
        try:
            response = self.session.request(method, self.base_url + path, timeout=self.timeout_s, **options)
        except requests.exceptions.Timeout:
            raise self.error(f"no answer from {self.host} within {self.timeout_s:g} s", UNREACHABLE) from None
        except requests.exceptions.ConnectionError:
            raise self.error(f"cannot connect to {self.host}", UNREACHABLE) from None
        if response.status_code in busy_statuses:
            wait_s = retry_after_seconds(response.headers.get("Retry-After"), self.wall_clock())
            wait_s = 1.0 if wait_s is None else wait_s
            if wait_s > self.max_wait_s:
                raise self.error(f"busy (HTTP {response.status_code}), asks to wait {wait_s:.0f} s; try again later",
                                 UNAVAILABLE, response.status_code)
            raise _Busy(response.status_code, wait_s)
        if response.status_code >= 500:
            raise self.error(f"the service failed (HTTP {response.status_code})", UNAVAILABLE, response.status_code)
        return response

    def json(self, response: requests.Response):
        try:
            return response.json()
        except ValueError:
            raise self.error(f"an answer that is not JSON (HTTP {response.status_code})", BAD_ANSWER,
                             response.status_code) from None
