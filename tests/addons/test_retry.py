"""The one retry policy (addons/retry.py): doubling waits with a ceiling, and Retry-After in both of
its forms (seconds, HTTP date) read by the addon client from a real answer."""

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler

import pytest

from addons.client import AddonClient, ClientLimits
from addons.network_policy import NetworkPolicy
from addons.retry import RetryPolicy, retry_after_seconds
from tests.helpers import local_server, send_json

NOW = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)


def test_waits_double_up_to_the_ceiling():
    policy = RetryPolicy(base_s=0.5, max_s=3.0)
    assert [policy.wait_s(attempt) for attempt in range(1, 6)] == [0.5, 1.0, 2.0, 3.0, 3.0]


def test_retry_after_lengthens_a_wait_but_never_shortens_it_and_is_capped():
    policy = RetryPolicy(base_s=1.0, max_s=30.0, max_retry_after_s=60.0)
    assert policy.wait_s(1, retry_after_s=5.0) == 5.0
    assert policy.wait_s(3, retry_after_s=0.0) == 4.0  # the doubling still applies
    assert policy.wait_s(1, retry_after_s=3600.0) == 60.0  # an hour would stall the run


@pytest.mark.parametrize("header, seconds", [
    ("120", 120.0),
    (" 2 ", 2.0),
    ("1.5", 1.5),
    ("-3", 0.0),
    ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),  # IMF-fixdate
    ("Wednesday, 21-Oct-26 07:29:00 GMT", 60.0),  # obsolete RFC 850 form, still allowed
    ("Wed Oct 21 07:28:10 2026", 10.0),  # asctime form: no zone, which HTTP means as GMT
    ("Wed, 21 Oct 2026 07:00:00 GMT", 0.0),  # already past: try now
])
def test_retry_after_in_seconds_or_as_an_http_date(header, seconds):
    assert retry_after_seconds(header, now=NOW) == pytest.approx(seconds)


@pytest.mark.parametrize("header", [None, "", "  ", "soon", "nan", "inf", "Wed, 99 Oct 2026 07:28:30 GMT"])
def test_an_absent_or_unreadable_retry_after_leaves_the_policy_s_wait(header):
    assert retry_after_seconds(header, now=NOW) is None


class RefusedOnceWithADate(BaseHTTPRequestHandler):
    """503 with `Retry-After: <HTTP date 20 s ahead>` on the first request, then an answer."""

    requests = 0

    def do_GET(self):
        type(self).requests += 1
        if type(self).requests == 1:
            self.send_response(503)
            self.send_header("Retry-After", format_datetime(datetime.now(UTC) + timedelta(seconds=20), usegmt=True))
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            send_json(self, {"streams": []})

    def log_message(self, *args):
        pass


async def test_the_client_waits_as_long_as_an_http_date_retry_after_says():
    waits = []

    async def backoff(wait_s, status, retry_after_s):  # records instead of sleeping 20 s
        waits.append((wait_s, status, retry_after_s))

    with local_server(RefusedOnceWithADate) as base:
        limits = ClientLimits(policy=NetworkPolicy())  # loopback allowed
        async with AddonClient(retries=2, retry_policy=RetryPolicy(base_s=0.5), limits=limits) as client:
            result = await client.get_json(f"{base}/stream/movie/tt1.json", backoff=backoff)
    assert result.ok and result.attempts == 2
    [(wait_s, status, retry_after_s)] = waits
    assert status == 503
    # The date has a resolution of one second and was written a moment before it was read.
    assert 18.0 <= retry_after_s <= 20.0 and wait_s == retry_after_s
