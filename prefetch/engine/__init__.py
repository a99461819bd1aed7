"""The prefetch engine, plain Python (no Django): give it a `RunPlan` and a record store, it walks
the catalogs and requests the streams. `walk` is the walk itself; `plan` what a run is told;
`episodes` which videos of a series to warm; `durations` the units settings are written in;
`records` the record store it needs."""

from prefetch.engine.walk import (
    MAX_CONTROL_FAILURES,
    STOP_CANCELLED,
    STOP_COMPLETED,
    STOP_CONTROL_FAILING,
    STOP_DATABASE_UNAVAILABLE,
    STOP_GLOBAL_LIMITS,
    STOP_NO_STREAM_ADDON,
    STOP_TIME_LIMIT,
    AddonGate,
    BreakerPolicy,
    PrefetchEngine,
    catalog_extra,
    encode_component,
    has_failures,
)

__all__ = [
    "MAX_CONTROL_FAILURES", "STOP_CANCELLED", "STOP_COMPLETED", "STOP_CONTROL_FAILING", "STOP_DATABASE_UNAVAILABLE",
    "STOP_GLOBAL_LIMITS", "STOP_NO_STREAM_ADDON", "STOP_TIME_LIMIT", "AddonGate", "BreakerPolicy", "PrefetchEngine",
    "catalog_extra", "encode_component", "has_failures",
]
