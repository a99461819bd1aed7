"""A series' episodes, from its meta, for the companion's next episodes and for the sync's targets:
read like a run reads them (a configured addon serving that meta, else the fallback meta addon),
through the addons client."""

import logging

from asgiref.sync import async_to_sync

from addons.client import AddonClient
from addons.manifest import resource_url
from prefetch.engine.episodes import Video, meta_in, videos_from_meta
from prefetch.engine.meta_sources import MetaSources
from prefetch.engine.plan import RunPlan
from prefetch.engine.urls import encode_component

logger = logging.getLogger("prefetch.follow")


class SeriesEpisodes:
    """`series_videos(series_id)` for one plan: the meta of each series read once (a sync asks for the
    same series for several viewers and sources); an unreadable meta is an empty list, logged."""

    def __init__(self, plan: RunPlan, content_type: str = "series"):
        self.plan = plan
        self.content_type = content_type
        self.names: dict[str, str] = {}
        self._videos: dict[str, list[Video]] = {}
        self.sources = MetaSources(
            plan, logger, unreachable="series that no configured addon has meta for have no episodes to follow. "
                                      "Change it with the setting 'fallback meta addon' (fallback_meta_url)",
        )

    def __call__(self, series_id: str) -> list[Video]:
        if series_id not in self._videos:
            self._videos[series_id] = async_to_sync(self._read)(series_id)
        return self._videos[series_id]

    def name(self, series_id: str) -> str:
        return self.names.get(series_id) or series_id

    async def _read(self, series_id: str) -> list[Video]:
        settings = self.plan.settings
        async with AddonClient(timeout_s=settings.request_timeout_s, retries=settings.retries,
                               proxy=settings.proxy_url, limits=self.plan.limits) as client:
            source = await self.sources.source(client, self.content_type, series_id)
            if source is None:
                logger.warning("No configured addon serves the meta of %s %s", self.content_type, series_id)
                return []
            answer = await client.get_json(
                resource_url(source.url, "meta", encode_component(self.content_type), encode_component(series_id)))
        meta = meta_in(answer)
        if meta is None:
            logger.warning("Meta of %s %s from %s: %s", self.content_type, series_id, source.name,
                           answer.error or "no meta in the answer")
            return []
        self.names[series_id] = str(meta.get("name") or series_id)
        return videos_from_meta(meta, series_id).videos
