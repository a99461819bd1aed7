import pytest

from tests.peer_server import Peer
from tests.watch_standin import WatchStandin

pytest_plugins = ["tests.browser", "tests.conftest_worker"]


@pytest.fixture(autouse=True)
def fresh_status_answer():
    """The shared status answer lives for the process: never carry one over from another test."""
    from prefetch.web.api import STATUS

    STATUS.forget()


@pytest.fixture(scope="session")
def peer():
    """A default peer shared by tests that only read from it (reset it if you count requests)."""
    server = Peer()
    yield server
    server.stop()


@pytest.fixture
def make_peer():
    """Start peers with their own settings (faults, latency, sizes); stopped after the test."""
    started = []

    def start(**env) -> Peer:
        server = Peer(**env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def make_standin(peer):
    """Start watch stand-ins (Stremio account + Trakt) with a scenario and knobs
    (STANDIN_TRAKT_TOKEN_TTL_S=..., ...), episodes from the shared peer unless `meta_url` says otherwise."""
    started = []

    def start(scenario: dict, meta_url: str | None = None, **env) -> WatchStandin:
        server = WatchStandin(scenario, meta_url or peer.base, **env)
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def owner(db, django_user_model):
    """The installation's administrator (a superuser)."""
    return django_user_model.objects.create_superuser("owner", password="x-very-long-password")


@pytest.fixture
def api(owner):
    """A DRF client authenticated as the owner."""
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(owner)
    return client


@pytest.fixture
def user_client(django_user_model):
    """A Django test client signed in as an ordinary (non-staff) user."""
    from django.test import Client

    signed_in = Client()
    signed_in.force_login(django_user_model.objects.create_user("user", password="irrelevant-password-123"))
    return signed_in
