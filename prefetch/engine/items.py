"""Warming one item: which videos it has (its meta, for a series), which of them are still warm, and
one stream request per (stream addon, video) left, plus the optional source-cache requests."""

import asyncio
from datetime import datetime, timezone
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from addons.client import Failure, FetchResult
from addons.manifest import MAX_ID_CHARS, id_too_long, resource_url
from prefetch.engine.episodes import Video, announced, meta_in, select_episodes, videos_from_meta
from prefetch.engine.freshness import expires_at
from prefetch.engine.gate import AddonGivenUp
from prefetch.engine.meta_sources import MetaSources
from prefetch.engine.outcome import Reason
from prefetch.engine.plan import AddonSpec, CatalogSpec
from prefetch.engine.records import Announcement, StreamOutcome
from prefetch.engine.tally import ALREADY, PREFETCHED, CatalogResult
from prefetch.engine.urls import encode_component, id_prefix

if TYPE_CHECKING:
    from prefetch.engine.walk import Item, PrefetchEngine


class ItemWarmer:
    def __init__(self, engine: "PrefetchEngine"):
        self.engine = engine
        # (addon key, type, video id) already requested in this run, by any item
        self.requested: set[tuple[str, str, str]] = set()
        self.meta_sources = MetaSources(
            engine.plan, engine.log, on_fallback=engine.add_gate,
            unreachable="series that no configured addon has meta for are left out of this run. Change it with "
                        "the setting 'fallback meta addon' (fallback_meta_url) or, on the command line, "
                        "--fallback-meta URL|none",
        )

    async def warm(self, catalog: CatalogSpec, result: CatalogResult, item: "Item") -> tuple[str, int]:
        """Warm one item; returns its end (PREFETCHED, ALREADY or a Reason) and the episodes warmed."""
        engine = self.engine
        stream_addons = engine.plan.stream_addons
        if not any(addon.manifest.supports("stream", item.type, item.id) for addon in stream_addons):
            result.unsupported_prefixes[(item.type, id_prefix(item.id))] += 1  # reported once per catalog
            return Reason.UNSUPPORTED, 0  # and no meta fetched for it
        videos, reason = await self._videos(catalog, item)
        if reason:
            return reason, 0
        if any(id_too_long(video.id) for video in videos):
            engine.log.warning("%s %s: videos with ids over %d characters skipped", item.type, item.name, MAX_ID_CHARS)
            videos = [video for video in videos if not id_too_long(video.id)]
        episodic = item.type == "series" or len(videos) > 1
        if episodic:
            engine.tally.episodes_found += len(videos)
        targets = [
            (addon, video)
            for video in videos
            for addon in stream_addons
            if addon.manifest.supports("stream", item.type, video.id)
        ]
        if not targets:
            for video in videos[:1]:
                result.unsupported_prefixes[(item.type, id_prefix(video.id))] += 1
            return (Reason.UNSUPPORTED if videos else Reason.FAILED), 0
        earlier = await self._attempted_before_resume(item, targets)
        targets = [(addon, video) for addon, video in targets if (addon.key, video.id) not in earlier]
        warmed_earlier = {video_id for (_, video_id), attempt in earlier.items() if attempt.ok}
        if earlier:
            engine.tally.items_done_before_resume += 1
        valid = item.valid_pairs if item.valid_pairs is not None else await engine.supervisor.lookup(
            engine.store.valid_keys,
            sorted({addon.key for addon, _ in targets}),
            item.type,
            [video.id for video in videos],
            engine.settings.cache_validity_s,
            engine.settings.cache_validity_auto,
        )
        unwarmed = [(addon, video) for addon, video in targets if (addon.key, video.id) not in valid]
        todo = [(addon, video) for addon, video in unwarmed if (addon.key, item.type, video.id) not in self.requested]
        self.requested.update((addon.key, item.type, video.id) for addon, video in todo)
        answered = await asyncio.gather(*(self._warm_stream(result, item, addon, video) for addon, video in todo))
        warmed_videos = warmed_earlier | {video.id for (_, video), ok in zip(todo, answered) if ok}
        failed_videos = {video.id for _, video in todo} - warmed_videos
        engine.tally.videos_failed_in(result, len(failed_videos))
        if not todo and not earlier:
            # every video still warm, or requested in this run for another item (an episode id that
            # two series share): the second is a duplicate, not "already prefetched"
            return (Reason.DUPLICATES if unwarmed else ALREADY), 0
        if not warmed_videos:
            return Reason.FAILED, 0
        return PREFETCHED, len(warmed_videos) if episodic else 0

    async def _attempted_before_resume(self, item: "Item", targets: list) -> dict:
        """(addon key, video id) -> EarlierAttempt, for the targets this run attempted before it was
        resumed; counted as this run's requests (the statistics cover the whole run)."""
        engine = self.engine
        if engine.resume_since is None:
            return {}
        earlier = await engine.supervisor.lookup(
            engine.store.attempted_since,
            sorted({addon.key for addon, _ in targets}),
            item.type,
            sorted({video.id for _, video in targets}),
            engine.resume_since,
        )
        for (addon_key, _), attempt in earlier.items():
            counts = dict(ok=attempt.ok and not attempt.not_found, not_found=attempt.not_found,
                          empty=attempt.ok and attempt.stream_count == 0)
            engine.tally.stream_answered(None, attempts=0, before_resume=True, **counts)
            engine.gates[addon_key].count_stream(attempts=0, latency_ms=None, **counts)
        return earlier

    async def _videos(self, catalog: CatalogSpec, item: "Item") -> tuple[list[Video], Reason | None]:
        """The videos to request, or the reason there are none."""
        engine = self.engine
        if item.videos is not None:  # listed by the plan (release-day warming)
            return list(item.videos), None
        if item.type == "movie":
            return [Video(item.id)], None
        source = await self.meta_sources.source(engine.client, item.type, item.id, preferred=catalog.addon)
        if source is None:
            if item.type == "series":
                engine.log.debug("%s %s: no configured addon serves its meta (episodes unknown)", item.type, item.name)
                return [], Reason.NO_META
            return [Video(item.id)], None
        engine.tally.meta_requests += 1
        answer = await self.fetch_json(
            source, resource_url(source.url, "meta", encode_component(item.type), encode_component(item.id))
        )
        meta = meta_in(answer)
        if meta is None:
            engine.tally.meta_requests_failed += 1
            engine.log.warning("%s %s: meta from %s: %s", item.type, item.name, source.name,
                               answer.error or "no meta in the answer")
            return [], Reason.FAILED
        listed = videos_from_meta(meta, item.id)
        if not listed.videos:
            return [], Reason.OWN_STREAMS
        now = datetime.now(timezone.utc)
        settings = engine.settings
        engine.pending_announcements.extend(
            Announcement(item.type, item.id, item.name, video.id, video.label, video.released)
            for video in announced(listed.videos, include_specials=settings.include_specials, now=now)
        )
        videos = select_episodes(
            listed.videos,
            include_specials=settings.include_specials,
            include_unreleased=settings.include_unreleased,
            cap=settings.episodes_per_series,
            now=now,
            released_since=engine.plan.released_since,
        )
        return videos, None if videos else Reason.EXCLUDED

    async def fetch_json(self, addon: AddonSpec, url: str, *, catalog_page: bool = False) -> FetchResult:
        """Catalog and meta requests: through the addon's gate, not counted as stream requests. A
        catalog page's `data` is a CatalogPage (or None: no metas list)."""
        gate = self.engine.gates[addon.key]
        client = self.engine.client
        get = client.get_catalog_page if catalog_page else client.get_json
        try:
            async with gate.slot(url) as turn:
                result = await get(url, backoff=turn.backoff)
                gate.observe(url, result)  # in the slot: the next request starts knowing of a pause
        except AddonGivenUp:
            return FetchResult(None, None, f"{addon.name} was given up for this run", failure=Failure.TRANSPORT)
        gate.other_requests += 1
        return result

    async def _warm_stream(self, result: CatalogResult, item: "Item", addon: AddonSpec, video: Video) -> bool:
        """One stream request; True when the addon answered (a list, even empty, or 404: nothing there)."""
        engine = self.engine
        gate = engine.gates[addon.key]
        title = f"{item.name} {video.label}".strip()
        url = resource_url(addon.url, "stream", encode_component(item.type), encode_component(video.id))
        started = False
        try:
            async with gate.slot(url) as turn:
                started = True
                engine.current_item = {"title": item.name, "type": item.type, "id": item.id, "video_id": video.id,
                                       "episode": video.label, "addon": addon.name}
                answer = await engine.client.get_json(url, backoff=turn.backoff)
                gate.observe(url, answer)  # in the slot: the next request starts knowing of a pause
        except AddonGivenUp as given_up:
            if not started:  # never sent: not a request of this run
                gate.skipped += 1
                engine.tally.stream_requests_skipped += 1
                return False
            # given up while this request waited to retry: it failed, and is not retried
            answer = FetchResult(None, None, f"not retried: {addon.name} {given_up}", failure=Failure.TRANSPORT)
        not_found = answer.failure is Failure.NOT_FOUND
        streams = answer.data.get("streams") if answer.ok and isinstance(answer.data, dict) else None
        ok = isinstance(streams, list) or not_found
        error = "" if ok else (answer.error or "not a Stremio answer: no streams list")
        empty = not not_found and ok and not streams
        engine.tally.stream_answered(result, ok=ok, not_found=not_found, empty=empty, attempts=answer.attempts)
        gate.count_stream(ok=ok, not_found=not_found, empty=empty, attempts=answer.attempts,
                          latency_ms=answer.latency_ms)
        if ok and not not_found:
            gate.pace.answered(answer.latency_ms, engine.clock())
            engine.verifier.offer(addon.key, addon.name, url, answer.latency_ms, (item.type, video.id))
        if not ok:
            engine.log.warning("Streams for %s from %s failed: %s", title, addon.name, error)
        answered_at = datetime.now(timezone.utc)
        engine.answered(
            StreamOutcome(
                addon.key, addon.name, item.type, video.id, title, answered_at, ok,
                answer.status, error, len(streams) if isinstance(streams, list) else (0 if not_found else None),
                answer.latency_ms, expires_at(answered_at, answer.cache_control) if ok else None,
            )
        )
        if streams and engine.cache_requests_enabled:
            await self._request_source_caching(result, addon, streams, title)
        return ok

    async def _request_source_caching(self, result: CatalogResult, addon: AddonSpec, streams: list, title: str):
        """The debrid trigger: open playback URLs of uncached streams so the resolver starts caching them."""
        engine = self.engine
        settings = engine.settings
        tally = engine.tally
        allowed_hosts = settings.cache_request_host_set() | {addon.host}
        cached, uncached = 0, []
        for stream in streams:
            if not isinstance(stream, dict):
                continue
            text = f"{stream.get('name') or ''} {stream.get('description') or stream.get('title') or ''}"
            if engine.skip_re and engine.skip_re.search(text):
                continue
            if engine.cached_re and engine.cached_re.search(text):
                cached += 1
            elif isinstance(stream.get("url"), str) and (urlsplit(stream["url"]).hostname or "").lower() in allowed_hosts:
                uncached.append(stream["url"])
        if cached > settings.cached_streams_threshold or not uncached:
            return
        successes = attempts = 0
        gate = engine.gates[addon.key]
        max_attempts = min(len(uncached), max(3 * settings.cache_requests_per_item, 5))
        while (
            successes < settings.cache_requests_per_item
            and attempts < max_attempts
            and tally.cache_requests_sent < settings.cache_requests_global
        ):
            url = uncached[attempts]
            attempts += 1
            tally.cache_requests_sent += 1
            result.cache_requests_sent += 1
            try:
                async with gate.slot(url):
                    touched = await engine.client.touch(url)
            except AddonGivenUp:
                return
            if touched.ok:
                successes += 1
                tally.cache_requests_ok += 1
                result.cache_requests_ok += 1
            engine.log.info(
                "Cache request %d for %s via %s: %s", attempts, title, addon.name, touched.error or touched.status
            )
