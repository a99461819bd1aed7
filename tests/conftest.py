import pytest

from tests.peer_server import Peer
from tests.watch_standin import WatchStandin

pytest_plugins = ["tests.browser", "tests.conftest_worker"]

NODE_FIXTURES = {"peer", "make_peer"}
# The longest waits first (an image build, schedules firing at the next minute): xdist hands tests out
# in this order (tests/run.sh keeps it), so these overlap the rest instead of queueing at the end.
# Worker tests are left spread out: the start already runs the heaviest processes.
LONGEST_FIRST = ("docker", "realtime")


@pytest.hookimpl(wrapper=True)
def pytest_collection_modifyitems(items):
    """Before the others (`-m` selecting by marks among them): `peer` on tests that start the Node
    peer addon, directly or through a fixture that does, and one xdist group per module of browser
    tests (one Chromium per module, as when run in one process). After them (pytest-django's
    ordering among them): the longest waits first, keeping the order within each rank."""
    for item in items:
        if NODE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.peer)
        if item.get_closest_marker("browser"):
            item.add_marker(pytest.mark.xdist_group(item.module.__name__))
    yield

    def rank(item) -> int:
        marks = {mark.name for mark in item.iter_markers()}
        return next((i for i, name in enumerate(LONGEST_FIRST) if name in marks), len(LONGEST_FIRST))

    items.sort(key=rank)


@pytest.fixture(autouse=True, scope="session")
def quick_password_hashing():
    """Accounts made by the tests hash their passwords with a fast hasher: the real one (PBKDF2,
    a million rounds) costs a third of a second of CPU per account or sign-in. Processes the tests
    start (manage.py, workers, the image) keep the real one."""
    from django.test.utils import override_settings

    with override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"]):
        yield


@pytest.fixture(autouse=True)
def fresh_status_answer():
    """The shared status answer lives for the process: never carry one over from another test."""
    from prefetch.web.api import STATUS

    STATUS.forget()


@pytest.fixture(scope="session")
def shared_peer():
    server = Peer()
    yield server
    server.stop()


@pytest.fixture
def peer(shared_peer):
    """A default peer, started once per test process; its request log starts empty for each test
    (tests that need faults or latency start their own with `make_peer`)."""
    shared_peer.reset()
    return shared_peer


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
def webhook(settings):
    """A webhook receiver (tests/helpers.py's Receiver) that run-end and addon-health notifications
    go to, on failures only (set settings.NOTIFY_ON = "always" for every run)."""
    from tests.helpers import Receiver

    server = Receiver()
    settings.NOTIFY_WEBHOOK_URL = server.url
    settings.NOTIFY_APPRISE_URL = ""
    settings.NOTIFY_ON = "failure"
    settings.NOTIFY_TIMEOUT_S = 5
    yield server
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
