"""Run counts answered under their old names too, for one release: stored runs hold the new names only
(a migration renamed the old ones), the API and the `--json` summary add the old ones next to them.
Both are documented as deprecated (README, OpenAPI); removed in the next release with this module."""

RUN_COUNTS = {"items_own_streams": "items_embedded"}  # new name -> old name, in a run's `statistics`
CATALOG_COUNTS = {"own_streams": "embedded"}  # in each of its `catalogs`, and as a key of their `samples`


def _with_old_keys(counts: dict, renamed: dict) -> dict:
    return counts | {old: counts[new] for new, old in renamed.items() if new in counts}


def statistics_with_old_names(statistics: dict | None) -> dict:
    return _with_old_keys(statistics or {}, RUN_COUNTS)


def catalogs_with_old_names(catalogs: list | None) -> list:
    return [_with_old_keys(catalog, CATALOG_COUNTS)
            | ({"samples": _with_old_keys(catalog["samples"], CATALOG_COUNTS)}
               if isinstance(catalog.get("samples"), dict) else {})
            for catalog in catalogs or []]
