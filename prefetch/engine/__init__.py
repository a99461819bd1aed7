"""The prefetch engine, plain Python (no Django): give it a `RunPlan` and a record store, it walks
the catalogs and requests the streams. `walk` is the walk itself, `items` warms one item, `gate`
decides who may send a request now, `supervisor` watches cancel / pause / time / outages, `tally`
counts, `outcome` decides what the run says, `report` shows it; `plan` is what a run is told,
`episodes` which videos of a series to warm, `durations` the units settings are written in,
`records` the record store it needs."""

from prefetch.engine.gate import BreakerPolicy
from prefetch.engine.supervisor import MAX_CONTROL_FAILURES
from prefetch.engine.urls import catalog_extra, encode_component
from prefetch.engine.walk import PrefetchEngine

__all__ = ["MAX_CONTROL_FAILURES", "BreakerPolicy", "PrefetchEngine", "catalog_extra", "encode_component"]
