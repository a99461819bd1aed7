"""Configuration export and import (JSON), for moving an install or keeping a copy.

What travels: the engine settings row, the addons (role, position, enabled, cached manifest) with
their catalog selection (order, enabled, chosen extra values), and the schedules. What does not:
runs, prefetch records, accounts. Addon URLs and the proxy URL may hold secrets: they are
redacted unless the export is asked to include secrets. On import, an addon whose URL is redacted
is matched to an existing addon with the same redacted URL, or skipped with a warning.
"""

import logging
from datetime import time as dt_time

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from addons import services as addon_services
from addons.manifest import unstorable_text_at
from addons.models import Addon
from addons.redaction import MASK, redact_url
from prefetch.models import SECRET_URL_SETTINGS, PrefetchSettings
from prefetch.runs.active import ConfigLocked, configuration_change
from schedules import services as schedule_services
from schedules.models import PROFILE_FIELDS, Schedule, SchedulingSettings

FORMAT = "streams-prefetcher-config"
VERSION = 1
CATALOG_FIELDS = ("name", "extras", "extra_values", "enabled", "position", "missing")

logger = logging.getLogger("prefetcher_site.configuration")


class ConfigError(Exception):
    """The file cannot be imported; the message says why."""


def _settings_fields() -> list[str]:
    return [f.name for f in PrefetchSettings._meta.concrete_fields if f.name != "id"]


def export_config(include_secrets: bool = False) -> dict:
    row = PrefetchSettings.load()
    settings = {name: getattr(row, name) for name in _settings_fields()}
    if not include_secrets:
        for name in SECRET_URL_SETTINGS:
            if settings.get(name):
                settings[name] = redact_url(settings[name])
    addons = []
    for addon in Addon.objects.order_by("position", "id").prefetch_related("catalog_set"):
        addons.append({
            "url": addon.url if include_secrets else addon.redacted_url,
            "role": addon.role,
            "position": addon.position,
            "enabled": addon.enabled,
            "name": addon.name,
            "display_name": addon.display_name,
            "logo": addon.logo,
            "version": addon.version,
            "manifest": addon.manifest,
            "fetched_at": addon.fetched_at.isoformat() if addon.fetched_at else None,
            "catalogs": [
                {"type": c.content_type, "id": c.catalog_id, **{field: getattr(c, field) for field in CATALOG_FIELDS}}
                for c in sorted(addon.catalog_set.all(), key=lambda c: (c.position, c.pk))
            ],
        })
    schedules = [
        {**_exported_rhythm(s), "enabled": s.enabled, **_portable_profile(s.profile)} for s in Schedule.objects.all()
    ]
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": timezone.now().isoformat(),
        "secrets_included": include_secrets,
        "settings": settings,
        "addons": addons,
        "scheduling": {"enabled": SchedulingSettings.load().enabled, "schedules": schedules},
    }


def _exported_rhythm(schedule: Schedule) -> dict:
    if schedule.is_interval:
        return {"every_s": schedule.every_s}
    return {"time": schedule.time.strftime("%H:%M"), "days": sorted(schedule.days)}


def _imported_rhythm(item: dict) -> dict:
    """An interval (`every_s`) or a time with days; the schedule's own rules check the values."""
    if item.get("every_s") is not None:
        return {"every_s": item["every_s"]}
    return {"time": _parse_time(item.get("time")), "days": list(item.get("days") or [])}


def _portable_profile(profile: dict) -> dict:
    """A schedule's profile as it travels: catalog ids are this install's own, so a subset stays here."""
    return {name: value for name, value in profile.items() if name != "catalog_ids"}


def _is_redacted(url: str) -> bool:
    return MASK in url


def _check_shape(data) -> None:
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ConfigError(f"Not a {FORMAT} file.")
    if data.get("version") != VERSION:
        raise ConfigError(f"Unsupported version {data.get('version')!r} (this install reads version {VERSION}).")
    for key, kind in (("settings", dict), ("addons", list), ("scheduling", dict)):
        if not isinstance(data.get(key), kind):
            raise ConfigError(f"'{key}' is missing or not a{'n' if kind is list else ''} {kind.__name__}.")


def _profile_of(item: dict) -> dict:
    """The profile keys of an exported schedule (checked with the schedule, by its model's rules)."""
    return {name: item[name] for name in PROFILE_FIELDS if name in item}


def _parse_time(value: str) -> dt_time:
    try:
        hour, minute = (int(part) for part in str(value).split(":"))
        return dt_time(hour, minute)
    except (TypeError, ValueError):
        raise ConfigError(f"Schedule time {value!r} is not HH:MM.") from None


def import_config(data: dict) -> dict:
    """Apply an exported configuration. All or nothing: every part is checked first, by the same
    rules the pages and the API apply (a ConfigError says which part and why, nothing written),
    then everything is written in one transaction, refused while a run is active.
    Returns counts and warnings for the report."""
    _check_shape(data)
    # Text no database can store (NUL, a lone surrogate): the whole file is refused, naming where.
    if (unstorable := unstorable_text_at(data)) is not None:
        _, where, refusal = unstorable
        raise ConfigError(f"{where or 'the file'}: {refusal}")
    report = {"settings": 0, "addons_created": 0, "addons_updated": 0, "addons_skipped": 0, "catalogs": 0,
              "schedules": 0, "warnings": []}
    row = _checked_settings(data["settings"], report)
    addons = [checked for entry in data["addons"] if (checked := _checked_addon(entry, report))]
    scheduling = data["scheduling"]
    if not isinstance(scheduling.get("schedules") or [], list):
        raise ConfigError("'scheduling.schedules' is not a list.")
    entries = [
        {**_imported_rhythm(item), "enabled": bool(item.get("enabled", True)), **_portable_profile(_profile_of(item))}
        for item in scheduling.get("schedules") or []
    ]
    try:
        with configuration_change("Import is refused"):
            row.save()
            for url, fields, catalogs in addons:
                _, created = addon_services.restore_addon(url, fields, catalogs)
                report["addons_created" if created else "addons_updated"] += 1
                report["catalogs"] += len(catalogs)
            schedule_services.replace_all(entries)
            schedule_services.set_global_enabled(bool(scheduling.get("enabled", True)))
    except ConfigLocked as locked:
        raise ConfigError(str(locked)) from None
    except ValidationError as error:
        raise ConfigError(f"Invalid schedule: {'; '.join(error.messages)}") from None
    report["schedules"] = len(entries)
    return report


def _checked_settings(values: dict, report: dict) -> PrefetchSettings:
    """The settings row with the file's values, validated like every settings change (not saved)."""
    row = PrefetchSettings.load()
    for name, value in values.items():
        if name not in _settings_fields():
            report["warnings"].append(f"Unknown setting {name!r} ignored.")
            continue
        if name in SECRET_URL_SETTINGS and isinstance(value, str) and _is_redacted(value):
            continue  # a redacted secret keeps the value this install already has
        setattr(row, name, value)
        report["settings"] += 1
    try:
        row.full_clean()
    except ValidationError as error:
        raise ConfigError(f"Invalid settings: {error.message_dict}") from None
    return row


def _checked_addon(entry, report: dict) -> tuple[str, dict, list[dict]] | None:
    """(url, fields, catalogs) checked by the addon services' rules, or None when skipped."""
    if not isinstance(entry, dict):
        raise ConfigError("Each addon must be an object.")
    url = str(entry.get("url") or "")
    label = f"Addon {entry.get('name') or redact_url(url)}"
    try:
        role = addon_services.check_role(entry.get("role"))
        if _is_redacted(url):
            match = next((a for a in Addon.objects.all() if a.redacted_url == url), None)
            if match is None:
                report["addons_skipped"] += 1
                report["warnings"].append(
                    f"{label} skipped: its URL was redacted at export "
                    "(export with --include-secrets, or add it on the Addons page first)."
                )
                return None
            url = match.url
        else:
            url = addon_services.normalise(url)
        fields = {"role": role, **_checked_addon_fields(entry)}
        catalogs = entry.get("catalogs") or []
        if not isinstance(catalogs, list):
            raise addon_services.AddonError("“catalogs” must be a list.", field="catalogs")
        checked = []
        for position, catalog in enumerate(catalogs):
            try:
                checked.append(addon_services.check_saved_catalog(catalog))
            except addon_services.AddonError as error:
                name = catalog.get("id") if isinstance(catalog, dict) else None
                raise ConfigError(f"{label}, catalog {name or f'#{position + 1}'}: {error}") from None
    except addon_services.AddonError as error:
        raise ConfigError(f"{label}: {error}") from None
    return url, fields, checked


def _checked_addon_fields(entry: dict) -> dict:
    fields = {}
    for key, kind, default in (("enabled", bool, True), ("position", int, 0)):
        value = entry.get(key, default)
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 0)):
            raise addon_services.AddonError(
                f"“{key}” must be {'true or false' if kind is bool else 'a whole number, 0 or more'}.", field=key
            )
        fields[key] = value
    for key, limit in (("name", 200), ("logo", 2000), ("version", 50)):
        if entry.get(key) is not None:
            fields[key] = str(entry[key])[:limit]
    fields["display_name"] = str(entry["display_name"]).strip()[:200] or None if entry.get("display_name") else None
    if isinstance(entry.get("manifest"), dict) and entry["manifest"]:
        fields["manifest"] = entry["manifest"]
    if entry.get("fetched_at"):
        fetched_at = parse_datetime(str(entry["fetched_at"]))
        if fetched_at is None:
            raise addon_services.AddonError("“fetched_at” is not a date and time.", field="fetched_at")
        fields["fetched_at"] = fetched_at
    return fields


def reset_configuration() -> dict:
    """Back to defaults: settings, addons (and their catalogs), schedules, log files.

    The prefetch records (the cache memory) and the run history are kept."""
    with configuration_change("Reset is refused"):
        PrefetchSettings.objects.all().delete()
        PrefetchSettings.load()
        addons, _ = Addon.objects.all().delete()
        schedules = schedule_services.clear_all()
        SchedulingSettings.objects.all().delete()
        SchedulingSettings.load()
    logs = 0
    log_dir = settings.LOG_DIR
    if log_dir.is_dir():
        for path in log_dir.iterdir():
            if path.is_file():
                path.unlink(missing_ok=True)
                logs += 1
    logger.info("Configuration reset to defaults (%d log files deleted)", logs)
    return {"schedules": schedules, "log_files": logs}
