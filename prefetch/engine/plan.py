"""What one run works on, as plain data: the engine never touches Django models directly."""

from dataclasses import dataclass, field, fields
from datetime import datetime
from functools import cached_property
from urllib.parse import urlsplit

import re2

from addons.client import ClientLimits
from addons.manifest import CINEMETA_MANIFEST_URL, CatalogExtra, Manifest, addon_key, declares_skip, extras_blocker
from addons.redaction import redact_url
from prefetch.engine.episodes import Video
from prefetch.engine.pace import FIXED

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is reported to whoever wrote it, not on stderr


def compile_stream_regex(pattern: str) -> re2._Regexp:
    """A stream-title pattern of the settings, on RE2: it matches in linear time whatever the pattern,
    so `(a+)+$` cannot hang a run on a hostile title. What only a backtracking engine can do
    (back-references, look-around) is refused: ValueError with RE2's reason."""
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as error:
        reason = error.args[0] if error.args else ""
        raise ValueError(reason.decode(errors="replace") if isinstance(reason, bytes) else str(reason)) from None


@dataclass
class EngineSettings:
    """Engine parameters, derived from `PrefetchSettings` (the one definition): same names and
    defaults, checked by tests/engine/test_one_source.py. Plain data, so that the engine needs no Django."""

    movies_global_limit: int = -1
    series_global_limit: int = -1
    movies_per_catalog: int = 50
    series_per_catalog: int = 3
    items_per_mixed_catalog: int = 20
    delay_s: float = 2.0
    cache_validity_s: int = 7 * 86400
    cache_validity_auto: bool = False
    max_execution_time_s: int = 90 * 60
    request_timeout_s: float = 30.0
    proxy_url: str = ""
    randomize_catalogs: bool = False
    randomize_items: bool = False
    logging_enabled: bool = False
    concurrency: int = 2
    concurrency_mode: str = FIXED
    retries: int = 2
    max_pages_per_catalog: int = 50
    include_specials: bool = False
    include_unreleased: bool = False
    episodes_per_series: int = -1
    fallback_meta_url: str = CINEMETA_MANIFEST_URL
    cache_requests_enabled: bool = False
    cached_stream_regex: str = "⚡"
    skip_stream_regex: str = ""
    cache_requests_per_item: int = 1
    cache_requests_global: int = 50
    cached_streams_threshold: int = 0
    cache_request_hosts: str = ""
    verify_sample_size: int = 20

    @classmethod
    def from_model(cls, row, overrides: dict | None = None) -> "EngineSettings":
        values = {f.name: getattr(row, f.name) for f in fields(cls)}
        values.update(overrides or {})
        return cls(**values)

    def per_catalog_limit(self, kind: str) -> int:
        return {
            "movie": self.movies_per_catalog,
            "series": self.series_per_catalog,
        }.get(kind, self.items_per_mixed_catalog)

    def global_limit(self, kind: str) -> int:
        return self.series_global_limit if kind == "series" else self.movies_global_limit

    def cache_request_host_set(self) -> set[str]:
        return {host.strip().lower() for host in self.cache_request_hosts.split(",") if host.strip()}

    def compiled_regexes(self) -> tuple[re2._Regexp | None, re2._Regexp | None, str | None]:
        """(cached, skip, error). An invalid pattern disables the feature for the run, never crashes it."""
        try:
            cached = compile_stream_regex(self.cached_stream_regex) if self.cached_stream_regex else None
            skip = compile_stream_regex(self.skip_stream_regex) if self.skip_stream_regex else None
        except ValueError as error:
            return None, None, f"invalid regular expression ({error})"
        return cached, skip, None


@dataclass
class AddonSpec:
    url: str
    name: str
    manifest: Manifest
    serves_catalogs: bool
    serves_streams: bool

    @cached_property  # read for every stream request; a hash of the URL each time
    def key(self) -> str:
        return addon_key(self.url)

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()

    @property
    def label(self) -> str:
        """How logs and reports name the addon: never its full URL."""
        return f"{self.name} ({redact_url(self.url)})"


def merge_addons(addons: list[AddonSpec]) -> list[AddonSpec]:
    """One addon per normalised URL (its key), with the union of the roles it was given, in first-seen
    order: the same addon given twice is walked once and asked for each stream once."""
    merged: dict[str, AddonSpec] = {}
    for addon in addons:
        first = merged.setdefault(addon.key, addon)
        if first is not addon:
            first.serves_catalogs = first.serves_catalogs or addon.serves_catalogs
            first.serves_streams = first.serves_streams or addon.serves_streams
    return list(merged.values())


@dataclass(frozen=True)
class ListedItem:
    """An item whose videos the plan already knows (release-day warming): no catalog, no meta."""

    type: str
    id: str
    name: str
    videos: tuple[Video, ...]


@dataclass
class CatalogSpec:
    addon: AddonSpec
    type: str
    id: str
    name: str
    extras: tuple[CatalogExtra, ...] = ()
    extra_values: dict = field(default_factory=dict)
    # Given by the plan instead of requested from the addon; each warmed whatever the records say,
    # unless `skip_warm`: then a video still warm on an addon is not requested there again.
    items: tuple[ListedItem, ...] | None = None
    skip_warm: bool = False

    @property
    def declares_skip(self) -> bool:
        return declares_skip(self.extras)

    @property
    def kind(self) -> str:
        """movie / series / mixed: picks the per-catalog limit."""
        return self.type if self.type in ("movie", "series") else "mixed"

    def skip_reason(self, stream_addons: list[AddonSpec]) -> str | None:
        blocker = extras_blocker(self.extras, self.extra_values)
        if blocker:
            return blocker
        if self.type in ("tv", "channel") and not any(
            addon.manifest.supports_type("stream", self.type) for addon in stream_addons
        ):
            return f"no stream addon serves type {self.type}"
        return None


@dataclass
class RunPlan:
    addons: list[AddonSpec]
    catalogs: list[CatalogSpec]
    settings: EngineSettings
    limits: ClientLimits = field(default_factory=ClientLimits)  # the deployment's, not the user's
    # "New episodes only" (a schedule's profile): episodes released at or after this time.
    released_since: datetime | None = None

    @property
    def stream_addons(self) -> list[AddonSpec]:
        return [addon for addon in self.addons if addon.serves_streams]
