"""Which addon serves an item's meta: one rule for a run's walk and for the follow app's series episodes."""

import asyncio
import logging
from collections.abc import Callable

from addons.client import AddonClient
from addons.manifest import ManifestError
from addons.redaction import redact_url
from prefetch.engine.plan import AddonSpec, RunPlan


class MetaSources:
    """The addon to ask for an item's meta: the preferred one (a catalog's own addon) when its manifest
    serves that meta, else the first configured addon that does, else the fallback meta addon of the
    settings. The fallback's manifest is fetched once, by the first item that needs it (others wait for
    that answer); when it cannot be fetched, that is logged once and such items have no meta source.
    `on_fallback` is told of the fallback once it is known (the engine gives it a gate)."""

    def __init__(self, plan: RunPlan, log: logging.Logger | logging.LoggerAdapter, *, unreachable: str,
                 on_fallback: Callable[[AddonSpec], object] | None = None):
        self.addons = plan.addons
        self.fallback_url = plan.settings.fallback_meta_url
        self.log = log
        self.unreachable = unreachable  # what an unreachable fallback means, for its warning
        self.on_fallback = on_fallback or (lambda addon: None)
        self.lock = asyncio.Lock()
        self.looked_up = False
        self.fallback: AddonSpec | None = None  # once looked up and reachable

    @property
    def fallback_unreachable(self) -> bool:
        return self.looked_up and self.fallback is None

    async def source(self, client: AddonClient, content_type: str, item_id: str,
                     preferred: AddonSpec | None = None) -> AddonSpec | None:
        """The addon serving the meta of (content_type, item_id), or None; `client` fetches the
        fallback's manifest if it comes to that."""
        for addon in ([preferred] if preferred else []) + self.addons:
            if addon.manifest.supports("meta", content_type, item_id):
                return addon
        fallback = await self._fallback(client)
        if fallback and fallback.manifest.supports("meta", content_type, item_id):
            return fallback
        return None

    async def _fallback(self, client: AddonClient) -> AddonSpec | None:
        async with self.lock:
            if self.looked_up or not self.fallback_url:
                return self.fallback
            self.looked_up = True
            try:
                manifest = await client.fetch_manifest(self.fallback_url)
            except ManifestError as error:
                self.log.warning("The fallback meta addon %s could not be reached (%s); %s",
                                 redact_url(self.fallback_url), error, self.unreachable)
                return None
            self.fallback = AddonSpec(self.fallback_url, manifest.name, manifest, False, False)
            self.on_fallback(self.fallback)
            return self.fallback
