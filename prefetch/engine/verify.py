"""The measured effect of a run: a random sample of the streams it warmed, requested again.

While the run goes, every successful stream answer is offered to the `Verifier`: it keeps, per
addon, a uniform random sample (reservoir sampling, so memory stays at the sample size however long
the run) with the time each answer took (cold). After the run, each sampled stream is requested
again through the addon's gate (its politeness applies) and timed (warm). These requests are not the
run's stream requests: they change no statistic and no record's success.

The warm answer time is then the addon's reference for "looked cached": every answer of the run
that came about as fast (`looks_cached`) is marked so on its record. Without verification, or for
an addon none of whose sample answered, records say nothing (None): an addon whose answers are
all cold has no fast answer to compare with.
"""

import asyncio
import random
from dataclasses import dataclass, field

# An answer looked cached when it came within LOOKS_CACHED_RATIO times the addon's warm answer time
# (the verification's p50), or within LOOKS_CACHED_MARGIN_MS above it.
LOOKS_CACHED_RATIO = 2.0
LOOKS_CACHED_MARGIN_MS = 50.0


def percentile(sorted_values: list[float], fraction: float) -> float | None:
    if not sorted_values:
        return None
    index = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return round(sorted_values[index], 1)


def cached_threshold_ms(warm_ms: float) -> float:
    """The slowest answer time that still looks cached, for an addon whose warm answers take `warm_ms`."""
    return max(warm_ms * LOOKS_CACHED_RATIO, warm_ms + LOOKS_CACHED_MARGIN_MS)


@dataclass
class AddonSample:
    name: str
    answers: int = 0
    sample: list[tuple[str, float, tuple[str, str]]] = field(default_factory=list)  # (stream URL, cold answer time, (type, video id))


class Verifier:
    def __init__(self, sample_size: int, rng: random.Random | None = None):
        self.sample_size = max(0, sample_size)
        self.rng = rng or random.Random()
        self.addons: dict[str, AddonSample] = {}

    def offer(self, addon_key: str, addon_name: str, url: str, latency_ms: float, video: tuple[str, str]) -> None:
        """One successful stream answer of the run (a cold answer, as far as the run knows) for
        `video`, (type, video id)."""
        if not self.sample_size:
            return
        entry = self.addons.get(addon_key)
        if entry is None:
            entry = self.addons[addon_key] = AddonSample(addon_name)
        entry.answers += 1
        if len(entry.sample) < self.sample_size:
            entry.sample.append((url, latency_ms, video))
        else:
            slot = self.rng.randrange(entry.answers)
            if slot < self.sample_size:
                entry.sample[slot] = (url, latency_ms, video)

    async def verify(self, request) -> dict:
        """`request(addon_key, url)` -> the answer (a FetchResult) or None when the addon was given up.
        Returns the `verification` part of the report."""
        keys = list(self.addons)
        results = await asyncio.gather(*(self._verify_addon(key, self.addons[key], request) for key in keys))
        return {"sample_size": self.sample_size, "addons": list(results)}

    def cached_thresholds(self, verification: dict) -> dict[str, float]:
        """addon key -> the slowest answer time that looked cached, for addons whose sample answered."""
        return {
            key: cached_threshold_ms(result["warm_ms_p50"])
            for key, result in zip(self.addons, verification["addons"])
            if result["warm_ms_p50"] is not None
        }

    def sampled_videos(self) -> dict[str, list[tuple[str, str]]]:
        """addon key -> the (type, video id) of its sampled streams."""
        return {key: [video for _, _, video in entry.sample] for key, entry in self.addons.items()}

    @staticmethod
    def add_first_answers(verification: dict, addon_keys: list[str], first_answers: dict[str, list[float]]) -> None:
        """Each addon's `first_ms_p50`: the p50 of the first answers ever recorded for its sampled
        videos (before any run warmed them), for a run whose own answers were already warm."""
        for key, result in zip(addon_keys, verification["addons"]):
            result["first_ms_p50"] = percentile(sorted(first_answers.get(key, [])), 0.5)

    @staticmethod
    async def _verify_addon(key: str, entry: AddonSample, request) -> dict:
        cold, warm, failed = [], [], 0
        answers = await asyncio.gather(*(request(key, url) for url, _, _ in entry.sample))
        for (_, cold_ms, _), answer in zip(entry.sample, answers):
            if answer is None or not answer.ok:
                failed += 1
                continue
            cold.append(cold_ms)
            warm.append(answer.latency_ms)
        cold.sort()
        warm.sort()
        return {
            "name": entry.name,
            "sampled": len(entry.sample),
            "verified": len(warm),
            "failed": failed,
            "cold_ms_p50": percentile(cold, 0.5),
            "cold_ms_p95": percentile(cold, 0.95),
            "warm_ms_p50": percentile(warm, 0.5),
            "warm_ms_p95": percentile(warm, 0.95),
        }
