"""A scripted addon client, a record store in memory and a manual clock: the engine's rules as fast
unit tests, no database, no network, no Node addon. The same rules are exercised end to end against
the real test addon in test_engine.py and test_run_truth.py."""

import asyncio
import json
from collections.abc import Callable
from contextlib import asynccontextmanager
from urllib.parse import unquote, urlsplit

from addons.client import ClientLimits, Failure, FetchResult, parse_catalog_page
from addons.manifest import Manifest, ManifestError
from prefetch.engine import PrefetchEngine
from prefetch.engine.plan import AddonSpec, CatalogSpec, EngineSettings, RunPlan
from tests.helpers import OPEN_SETTINGS

BASE = "http://addon.test/manifest.json"
REFUSED = "refused"  # a behaviour: no HTTP answer (the addon's port is closed)
FLAKY = "flaky"  # a behaviour: HTTP 500 on the first attempt, then streams


class ManualClock:
    """Time moves only when the engine sleeps, to the time it sleeps until (never back): spacing and
    pauses are exact and instant. `wakes` lists those times in the order the sleeps began. With
    `real_s`, each sleep also lets that much real time pass, so that other tasks (and a cancel) can
    happen while a request waits out its backoff."""

    def __init__(self, real_s: float = 0.0):
        self.now = 1000.0
        self.real_s = real_s
        self.wakes: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.wakes.append(self.now + seconds)
        self.now = max(self.now, self.now + seconds)
        await asyncio.sleep(self.real_s)


class MemoryStore:
    def __init__(self, earlier: dict | None = None):
        self.saved = []
        self.earlier = earlier or {}  # (addon key, video id) -> EarlierAttempt: a resumed run's first part

    def valid_keys(self, addon_keys, content_type, video_ids, validity_s, auto=False):
        return set()

    def attempted_since(self, addon_keys, content_type, video_ids, since):
        return {(key, vid): self.earlier[(key, vid)] for key in addon_keys for vid in video_ids
                if (key, vid) in self.earlier}

    def save(self, outcomes):
        self.saved.extend(outcomes)

    def remember_announced(self, announcements):
        pass

    def mark_looked_cached(self, addon_key, since, threshold_ms):
        pass

    def first_answer_times(self, addon_key, videos):
        return []


class ScriptedAddon:
    """Answers catalog pages from a list (every catalog the same, or from `catalog_pages`: catalog id ->
    its own pages) of `item_type` items, metas with two episodes and streams with one stream each;
    `behave(id, attempt)` says otherwise for some ids: an HTTP status, REFUSED or FLAKY. Transient
    failures (no answer, 429, 5xx) are retried `retries` times like AddonClient does, through the
    engine's backoff. Records every attempt, the clock at its start and how many were in flight. A
    manifest fetched (the fallback meta addon's) is `fallback_manifest`, or not found when None."""

    def __init__(self, clock: ManualClock, pages: list[list[str]], stream_status: int = 200, answer_s: float = 0.0,
                 behave: Callable[[str, int], object] | None = None, retries: int = 0, backoff_s: float = 0.5,
                 catalog_behaviour: object = 200, catalog_pages: dict[str, list[list[str]]] | None = None,
                 item_type: str = "movie", fallback_manifest: Manifest | None = None):
        self.clock, self.pages, self.answer_s = clock, pages, answer_s
        self.item_type, self.fallback_manifest = item_type, fallback_manifest
        self.manifests_fetched: list[str] = []
        self.catalog_pages = catalog_pages or {}
        self.behave = behave or (lambda video_id, attempt: stream_status)
        self.retries, self.backoff_s = retries, backoff_s
        self.catalog_behaviour = catalog_behaviour
        self.max_page_items = ClientLimits().max_page_items
        self.requests: list[tuple[float, str]] = []
        self.in_flight = self.max_in_flight = 0
        self.on_request: Callable[[int], None] = lambda count: None

    @asynccontextmanager
    async def session(self):
        yield self

    async def get_json(self, url: str, backoff=None) -> FetchResult:
        path = unquote(urlsplit(url).path)
        for attempt in range(1, self.retries + 2):
            result = await self._attempt(path, attempt)
            transient = result.failure is Failure.TRANSPORT or (
                result.failure is Failure.HTTP_STATUS and (result.status == 429 or result.status >= 500))
            if not transient or attempt > self.retries:
                result.attempts = attempt
                return result
            wait_s = self.backoff_s * 2 ** (attempt - 1)
            if backoff:
                await backoff(wait_s, result.status, None)
            else:
                await self.clock.sleep(wait_s)

    async def fetch_manifest(self, url: str) -> Manifest:
        self.manifests_fetched.append(url)
        await asyncio.sleep(self.answer_s)
        if self.fallback_manifest is None:
            raise ManifestError("HTTP 404 (not found)")
        return self.fallback_manifest

    async def get_catalog_page(self, url: str, backoff=None) -> FetchResult:
        """Through the client's own page parser, from the answer as it would be sent."""
        result = await self.get_json(url, backoff)
        if result.ok:
            result.data = parse_catalog_page(json.dumps(result.data).encode(), self.max_page_items)
        return result

    async def _attempt(self, path: str, attempt: int) -> FetchResult:
        self.requests.append((self.clock(), path))
        self.on_request(len(self.requests))
        self.in_flight += 1
        self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.answer_s)
        finally:
            self.in_flight -= 1
        if path.startswith("/catalog/"):
            if self.catalog_behaviour != 200:
                return failed(self.catalog_behaviour)
            skip = int(path.rsplit("skip=", 1)[1].removesuffix(".json")) if "skip=" in path else 0
            own_pages = self.catalog_pages.get(path.split("/")[3].removesuffix(".json"))  # /catalog/<type>/<id>[/<extra>].json
            page = self.page_at(skip) if own_pages is None else pages_at(own_pages, skip)
            if page is None:  # a page that is not a catalog answer
                return FetchResult(200, {"error": "no metas"})
            return FetchResult(200, {"metas": [{"id": id_, "type": self.item_type, "name": id_} for id_ in page]})
        if "/meta/" in path:  # [/<config>]/meta/<type>/<id>.json
            item_id = path.rsplit("/", 1)[1].removesuffix(".json")
            return FetchResult(200, {"meta": {"id": item_id, "name": item_id, "videos": [
                {"id": f"{item_id}:1:{episode}", "season": 1, "episode": episode} for episode in (1, 2)]}})
        video_id = path.rsplit("/", 1)[1].removesuffix(".json")
        behaviour = self.behave(video_id, attempt)
        if behaviour == FLAKY:
            behaviour = 500 if attempt == 1 else 200
        if behaviour != 200:
            return failed(behaviour)
        return FetchResult(200, {"streams": [{"title": "1080p", "url": "http://x.test/1"}]})

    def page_at(self, skip: int) -> list[str]:
        return pages_at(self.pages, skip)

    def stream_requests(self) -> list[tuple[float, str]]:
        return [(at, path) for at, path in self.requests if path.startswith("/stream/")]


def pages_at(pages: list[list[str]], skip: int) -> list[str]:
    offset = 0
    for page in pages:
        if offset == skip:
            return page
        offset += len(page)
    return []


def failed(behaviour) -> FetchResult:
    if behaviour == REFUSED:
        return FetchResult(None, None, "connection refused — is the addon running?", failure=Failure.TRANSPORT)
    if behaviour == 404:
        return FetchResult(404, None, "HTTP 404 (not found)", failure=Failure.NOT_FOUND)
    return FetchResult(behaviour, None, f"HTTP {behaviour}", failure=Failure.HTTP_STATUS)


def manifest(skip: bool, catalogs: int = 1, item_type: str = "movie") -> Manifest:
    extra = [{"name": "genre"}, {"name": "search"}] + ([{"name": "skip"}] if skip else [])
    return Manifest({
        "id": "scripted", "name": "Scripted", "version": "1.0.0", "types": [item_type],
        "resources": ["catalog", "stream"], "idPrefixes": ["tt"],
        "catalogs": [{"type": item_type, "id": "top" if n == 0 else f"top{n}", "name": "Top", "extra": extra}
                     for n in range(catalogs)],
    })


def meta_manifest(name: str = "Meta", types: tuple[str, ...] = ("series",), prefix: str = "tt") -> Manifest:
    """An addon serving only metas: of `types`, for ids starting with `prefix`."""
    return Manifest({"id": f"meta.{name.lower()}", "name": name, "version": "1.0.0", "types": list(types),
                     "resources": ["meta"], "idPrefixes": [prefix], "catalogs": []})


def engine_for(addon: ScriptedAddon, clock: ManualClock, *, skip: bool = True, breaker=None, catalogs: int = 1,
               store: MemoryStore | None = None, **options) -> PrefetchEngine:
    """An engine over the scripted addon (catalog and stream), with `catalogs` catalogs `top`, `top1`, …
    (they list the same pages, every catalog after the first duplicates only, unless the addon has
    `catalog_pages` for them), of the addon's item type. Engine options (poll_control, control_interval_s, resume_since, log) go
    to the engine, the rest to its settings."""
    engine_options = {key: options.pop(key) for key in ("poll_control", "control_interval_s", "resume_since", "log")
                      if key in options}
    spec = AddonSpec(BASE, "Scripted", manifest(skip, catalogs, addon.item_type), True, True)
    plan = RunPlan([spec], [CatalogSpec(spec, decl.type, decl.id, decl.name, decl.extras)
                            for decl in spec.manifest.catalogs()],
                   EngineSettings(**{**OPEN_SETTINGS, **options}))
    return PrefetchEngine(plan, store=store or MemoryStore(), client_factory=addon.session, clock=clock,
                          sleep=clock.sleep, breaker=breaker, **engine_options)


def ids(count: int, start: int = 0) -> list[str]:
    return [f"tt{n:07d}" for n in range(start, start + count)]

