"""How the measured effect of a run (Run.verification, see prefetch/engine/verify.py) reads on pages:
"Comet: cold p50 2.3 s → warm p50 80 ms (29× faster), 20 sampled". The run page, the history and
the dashboard use these words.

A run whose own answers came about as fast as the warm ones (the titles were warm before it) did
not make them fast: it says so ("already warm before this run (p50 43 ms)") and compares with the
first answers ever recorded for those titles, where there are any, instead of reading as "warming
did not help"."""

from dataclasses import dataclass

from prefetch.engine.verify import cached_threshold_ms


def answer_time(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def speedup_text(speedup: float) -> str:
    return f"{speedup:.1f}×" if speedup < 10 else f"{speedup:.0f}×"


@dataclass(frozen=True)
class AddonEffect:
    """One addon's measured effect in one run."""

    name: str
    detail: str  # the line without the addon's name
    already_warm: bool
    before_ms: float | None  # the uncached answer time compared with: the run's own, or the first recorded
    warm_ms: float | None
    speedup: float | None  # before / warm; None when there is nothing uncached to compare with

    @property
    def line(self) -> str:
        return f"{self.name}: {self.detail}"


def addon_effect(addon: dict) -> AddonEffect:
    cold, warm, first = addon["cold_ms_p50"], addon["warm_ms_p50"], addon.get("first_ms_p50")
    already_warm = cold is not None and warm is not None and cold <= cached_threshold_ms(warm)
    if already_warm:
        line = f"already warm before this run (p50 {answer_time(cold)})"
        # A first answer as fast as a warm one was not an uncached one: nothing to compare with.
        before = first if first is not None and first > cached_threshold_ms(warm) else None
        if before is not None:
            line += f"; first answer p50 {answer_time(before)} → warm p50 {answer_time(warm)}"
    else:
        before = cold
        line = f"cold p50 {answer_time(cold)} → warm p50 {answer_time(warm)}"
    speedup = before / warm if before is not None and warm else None
    if speedup is not None:
        line += f" ({speedup_text(speedup)} faster)"
    line += f", {addon['verified']} sampled"
    if addon["failed"]:
        line += f" ({addon['failed']} failed)"
    return AddonEffect(addon["name"], line, already_warm, before, warm, speedup)


def addon_effects(verification: dict | None) -> list[AddonEffect]:
    return [addon_effect(addon) for addon in (verification or {}).get("addons", [])]


def summary_lines(verification: dict | None) -> list[str]:
    return [effect.line for effect in addon_effects(verification)]
