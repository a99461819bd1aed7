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
from django.db import transaction
from django.utils import timezone

from addons.manifest import AddonUrlError, normalize_addon_url
from addons.models import Addon, AddonRole, Catalog
from addons.redaction import MASK, redact_url
from prefetch.models import SECRET_URL_SETTINGS, PrefetchSettings
from prefetch.runs import refuse_while_running
from schedules import services as schedule_services
from schedules.models import Schedule, SchedulingSettings

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
        {"time": s.time.strftime("%H:%M"), "days": sorted(s.days), "enabled": s.enabled}
        for s in Schedule.objects.order_by("time", "id")
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


def _parse_time(value: str) -> dt_time:
    try:
        hour, minute = (int(part) for part in str(value).split(":"))
        return dt_time(hour, minute)
    except (TypeError, ValueError):
        raise ConfigError(f"Schedule time {value!r} is not HH:MM.") from None


def import_config(data: dict) -> dict:
    """Apply an exported configuration. All or nothing: any invalid part rolls everything back.
    Returns counts and warnings for the report."""
    _check_shape(data)
    report = {"settings": 0, "addons_created": 0, "addons_updated": 0, "addons_skipped": 0, "catalogs": 0,
              "schedules": 0, "warnings": []}
    with transaction.atomic():
        # Settings: known fields only; a redacted secret keeps the value this install already has.
        row = PrefetchSettings.load()
        for name, value in data["settings"].items():
            if name not in _settings_fields():
                report["warnings"].append(f"Unknown setting {name!r} ignored.")
                continue
            if name in SECRET_URL_SETTINGS and isinstance(value, str) and _is_redacted(value):
                continue
            setattr(row, name, value)
            report["settings"] += 1
        try:
            row.full_clean()
        except ValidationError as error:
            raise ConfigError(f"Invalid settings: {error.message_dict}") from None
        row.save()

        existing_by_redacted = {addon.redacted_url: addon for addon in Addon.objects.all()}
        for entry in data["addons"]:
            url = str(entry.get("url") or "")
            if entry.get("role") not in AddonRole.values:
                raise ConfigError(f"Addon {redact_url(url)}: unknown role {entry.get('role')!r}.")
            if _is_redacted(url):
                addon = existing_by_redacted.get(url)
                if addon is None:
                    report["addons_skipped"] += 1
                    report["warnings"].append(
                        f"Addon {entry.get('name') or url} skipped: its URL was redacted at export "
                        "(export with --include-secrets, or add it on the Addons page first)."
                    )
                    continue
                created = False
            else:
                try:
                    url = normalize_addon_url(url)
                except AddonUrlError as error:
                    raise ConfigError(f"Addon {redact_url(url)}: {error}") from None
                addon, created = Addon.objects.get_or_create(url=url)
            addon.role = entry["role"]
            addon.position = int(entry.get("position") or 0)
            addon.enabled = bool(entry.get("enabled", True))
            for field in ("name", "logo", "version"):
                if entry.get(field) is not None:
                    setattr(addon, field, str(entry[field]))
            addon.display_name = str(entry["display_name"])[:200] if entry.get("display_name") else None
            if isinstance(entry.get("manifest"), dict) and entry["manifest"]:
                addon.manifest = entry["manifest"]
            if entry.get("fetched_at"):
                addon.fetched_at = entry["fetched_at"]
            addon.save()
            report["addons_created" if created else "addons_updated"] += 1
            for catalog_entry in entry.get("catalogs") or []:
                catalog, _ = Catalog.objects.get_or_create(
                    addon=addon, content_type=str(catalog_entry["type"]), catalog_id=str(catalog_entry["id"])
                )
                for field in CATALOG_FIELDS:
                    if field in catalog_entry:
                        setattr(catalog, field, catalog_entry[field])
                catalog.save()
                report["catalogs"] += 1

        scheduling = data["scheduling"]
        entries = [
            {"time": _parse_time(item.get("time")), "days": list(item.get("days") or []),
             "enabled": bool(item.get("enabled", True))}
            for item in scheduling.get("schedules") or []
        ]
        try:
            schedule_services.replace_all(entries)
        except ValidationError as error:
            raise ConfigError(f"Invalid schedule: {'; '.join(error.messages)}") from None
        schedule_services.set_global_enabled(bool(scheduling.get("enabled", True)))
        report["schedules"] = len(entries)
    return report


def reset_configuration() -> dict:
    """Back to defaults: settings, addons (and their catalogs), schedules, log files.

    The prefetch records (the cache memory) and the run history are kept."""
    refuse_while_running("Reset is refused")
    with transaction.atomic():
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
