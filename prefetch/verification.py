"""How the measured effect of a run (Run.verification, see prefetch/engine/verify.py) reads on pages:
"Comet: cold p50 2.3 s → warm p50 80 ms, 20 sampled". The run page and the history use these lines."""


def answer_time(ms: float | None) -> str:
    if ms is None:
        return "–"
    return f"{ms / 1000:.1f} s" if ms >= 1000 else f"{ms:.0f} ms"


def summary_lines(verification: dict | None) -> list[str]:
    lines = []
    for addon in (verification or {}).get("addons", []):
        line = (f"{addon['name']}: cold p50 {answer_time(addon['cold_ms_p50'])} → "
                f"warm p50 {answer_time(addon['warm_ms_p50'])}, {addon['verified']} sampled")
        if addon["failed"]:
            line += f" ({addon['failed']} failed)"
        lines.append(line)
    return lines
