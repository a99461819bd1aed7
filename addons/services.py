"""Addon and catalog configuration: the one place the pages, the API and the admin go through.

Every change of an addon URL is normalised, checked for duplicates and validated by fetching the
manifest; the manifest summary is cached on the row. Catalog loading merges what the manifests
declare into the saved selection without losing the user's choices.
"""

import asyncio
import logging

import aiohttp
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from .client import MB, ClientLimits, fetch_manifest_sync
from .manifest import AddonUrlError, CatalogExtra, Manifest, ManifestError, extras_blocker, normalize_addon_url
from .models import CATALOG_ROLES, Addon, AddonRole, Catalog
from .network_policy import INPUT_REFUSAL, AddressNotAllowed, NetworkPolicy
from .redaction import redact_text, redact_url

logger = logging.getLogger("addons.services")

MANIFEST_TIMEOUT_S = 15.0
# What a manifest fetch may raise besides ManifestError (the client turns answers, timeouts and
# refused connections into that): a URL the HTTP stack refuses to build or send (ValueError from
# yarl / aiohttp.InvalidURL) and network errors raised outside a request (proxy set-up, DNS).
EXPECTED_FETCH_ERRORS = (ValueError, aiohttp.ClientError, OSError, asyncio.TimeoutError)


class AddonError(ValueError):
    """A user-facing refusal; `field` names the input it belongs to."""

    def __init__(self, message: str, field: str = "url"):
        super().__init__(message)
        self.field = field


def client_limits() -> ClientLimits:
    """The addon client's limits and network policy, as this deployment's settings set them."""
    return ClientLimits(
        max_manifest_bytes=int(settings.ADDON_MAX_MANIFEST_MB * MB),
        max_answer_bytes=int(settings.ADDON_MAX_ANSWER_MB * MB),
        max_page_items=settings.ADDON_MAX_PAGE_ITEMS,
        policy=NetworkPolicy(tuple(settings.ADDON_ALLOWED_NETWORKS), tuple(settings.ADDON_ALLOWED_HOSTS)),
    )


# `proxy`, here and below: the HTTP proxy requests to addons go through, or None. It is a setting of
# the runs (prefetch.models.addon_proxy); the callers above this app pass it.
def fetch_manifest(url: str, proxy: str | None = None) -> Manifest:
    """Fetch and validate the manifest at a normalised URL; errors never carry the URL itself."""
    try:
        manifest = fetch_manifest_sync(url, timeout_s=MANIFEST_TIMEOUT_S, proxy=proxy, retries=1, limits=client_limits())
    except ManifestError as error:
        raise AddonError(redact_text(str(error))) from None
    except EXPECTED_FETCH_ERRORS as error:
        raise AddonError(f"Could not fetch the manifest: {error.__class__.__name__}.") from None
    except Exception:  # a bug: the traceback goes to the log, the user gets an answer instead of a 500
        logger.exception("Fetching the manifest of %s failed unexpectedly", redact_url(url))
        raise AddonError("Could not fetch the manifest: an internal error (details are in the server log).") from None
    if manifest.configuration_required:
        raise AddonError(
            f"“{manifest.name}” needs to be configured first: open its configure page, then paste the "
            "URL it gives you (the one with your settings in it)."
        )
    return manifest


def normalise(raw_url: str) -> str:
    """The addon's transport URL, refused here already when the network policy forbids its address."""
    try:
        url = normalize_addon_url(raw_url)
        client_limits().policy.check_url(url)
    except AddonUrlError as error:
        raise AddonError(str(error)) from None
    except AddressNotAllowed:
        raise AddonError(INPUT_REFUSAL) from None
    return url


def find_duplicate(url: str, exclude_pk: int | None = None) -> Addon | None:
    """The addon already configured with this URL (case aside), if any."""
    others = Addon.objects.exclude(pk=exclude_pk) if exclude_pk else Addon.objects.all()
    return next((other for other in others.only("id", "url", "role", "name") if other.url.lower() == url.lower()), None)


def looks_like_one_addon(manifest_id: str | None, addon, other_manifest_id: str | None, other) -> bool:
    """Two URLs that look like the same addon: the same manifest id, in an overlapping role (both
    serve catalogs, or both streams). Either side is anything with `serves_catalogs` and
    `serves_streams` (a saved Addon, the CLI's AddonSpec). The Addons page and the CLI warn on it."""
    overlap = (other.serves_catalogs and addon.serves_catalogs) or (other.serves_streams and addon.serves_streams)
    return bool(manifest_id) and manifest_id == other_manifest_id and overlap


def same_manifest_warning(addon: Addon) -> str:
    """Another URL of the same addon (its manifest id) in an overlapping role: a typo in a config
    segment the addon accepts anyway, or a second configuration. Both would be walked and asked for
    every stream; the user is told, not refused (two configurations can be on purpose)."""
    manifest_id = (addon.manifest or {}).get("id")
    if not manifest_id:
        return ""
    for other in Addon.objects.exclude(pk=addon.pk).order_by("position", "id"):
        if looks_like_one_addon(manifest_id, addon, (other.manifest or {}).get("id"), other):
            return (
                f"{other.name or manifest_id} ({other.redacted_url}, “{other.get_role_display()}”) is the same addon "
                f"({manifest_id}) under another URL: both will be walked and asked for every stream. "
                "Remove one unless the two configurations differ on purpose."
            )
    return ""


def duplicate_message(url: str, exclude_pk: int | None = None) -> str:
    """Why `url` cannot be added: the addon configured with it, and the group it is in; "" if none."""
    other = find_duplicate(url, exclude_pk)
    if other is None:
        return ""
    if other.role == AddonRole.BOTH:
        advice = "It is already used for catalogs and streams."
    else:
        advice = "To use it for catalogs and streams too, move it to “Both”."
    return f"This addon is already configured, in “{other.get_role_display()}”: {other}. {advice}"


def _check_duplicate(url: str, exclude_pk: int | None = None) -> None:
    message = duplicate_message(url, exclude_pk)
    if message:
        raise AddonError(message)


def check_role(role: str) -> str:
    if role not in AddonRole.values:
        raise AddonError(f"Role must be one of {', '.join(AddonRole.values)}.", field="role")
    return role


def _next_position(role: str) -> int:
    top = Addon.objects.filter(role=role).aggregate(top=Max("position"))["top"]
    return 0 if top is None else top + 1


def preview(raw_url: str, proxy: str | None = None) -> tuple[str, Manifest]:
    """Normalise and fetch without saving (the `/api/addon/manifest` check)."""
    url = normalise(raw_url)
    return url, fetch_manifest(url, proxy)


def check_new_url(raw_url: str, exclude_pk: int | None = None, proxy: str | None = None) -> tuple[str, Manifest]:
    """Everything a new addon URL must pass: normalised, allowed, not configured yet, its manifest
    fetched and usable. Network: call it outside a transaction."""
    url = normalise(raw_url)
    _check_duplicate(url, exclude_pk)
    return url, fetch_manifest(url, proxy)


def save_new_addon(addon: Addon, manifest: Manifest) -> Addon:
    """Store an addon whose URL passed `check_new_url`, last in its group."""
    check_role(addon.role)
    with transaction.atomic():
        _check_duplicate(addon.url)  # again: another request may have added it since
        addon.position = _next_position(addon.role)
        addon.apply_manifest(manifest, timezone.now())
        addon.save()
    logger.info("Added addon %s as %s", addon, addon.role)
    return addon


def add_addon(raw_url: str, role: str = AddonRole.BOTH, display_name: str | None = None,
              proxy: str | None = None) -> Addon:
    check_role(role)
    url, manifest = check_new_url(raw_url, proxy=proxy)
    return save_new_addon(Addon(url=url, role=role, display_name=(display_name or "").strip() or None), manifest)


UNSET = object()


def update_addon(
    addon: Addon, *, raw_url: str | None = None, role: str | None = None, enabled: bool | None = None, display_name=UNSET,
    proxy: str | None = None,
) -> Addon:
    """Edit an addon; a new URL is validated like a new addon before anything is saved. A blank
    display name goes back to the manifest's name."""
    manifest = None
    if raw_url is not None:
        url = normalise(raw_url)
        if url != addon.url:
            _check_duplicate(url, exclude_pk=addon.pk)
            manifest = fetch_manifest(url, proxy)
            addon.url = url
    if role is not None and check_role(role) != addon.role:
        addon.role = role
        addon.position = _next_position(role)
    if enabled is not None:
        addon.enabled = enabled
    if display_name is not UNSET:
        addon.display_name = (display_name or "").strip() or None
    if manifest is not None:
        addon.apply_manifest(manifest, timezone.now())
    addon.save()
    return addon


def refresh_addon(addon: Addon, proxy: str | None = None) -> Addon:
    manifest = fetch_manifest(addon.url, proxy)
    addon.apply_manifest(manifest, timezone.now())
    addon.save()
    return addon


def delete_addon(addon: Addon) -> None:
    addon.delete()


@transaction.atomic
def reorder_addons(groups: dict[str, list[int]]) -> None:
    """`{role: [addon ids in order]}`: moves addons between groups and sets their order.

    Every id must exist; addons not mentioned keep their role and go after the listed ones."""
    seen: set[int] = set()
    for role, ids in groups.items():
        check_role(role)
        for pk in ids:
            if pk in seen:
                raise AddonError(f"Addon {pk} is listed twice.", field="groups")
            seen.add(pk)
    known = set(Addon.objects.filter(pk__in=seen).values_list("pk", flat=True))
    unknown = sorted(seen - known)
    if unknown:
        raise AddonError(f"Unknown addon id(s): {', '.join(map(str, unknown))}.", field="groups")
    for role, ids in groups.items():
        for position, pk in enumerate(ids):
            Addon.objects.filter(pk=pk).update(role=role, position=position)
        rest = Addon.objects.filter(role=role).exclude(pk__in=seen).order_by("position", "id")
        for offset, addon in enumerate(rest, start=len(ids)):
            Addon.objects.filter(pk=addon.pk).update(position=offset)


# --- catalogs ---------------------------------------------------------------------------------------
def catalog_addons():
    return Addon.objects.filter(enabled=True, role__in=CATALOG_ROLES)


def selection_queryset():
    """The catalogs the pages show: those of catalog-serving addons, in the engine's order."""
    # Never the addon's cached manifest: it lists every catalog, so loading it per row is quadratic.
    return (
        Catalog.objects.filter(addon__role__in=CATALOG_ROLES)
        .select_related("addon")
        .defer("addon__manifest")
    )


def load_catalogs(proxy: str | None = None) -> dict:
    """Fetch every catalog addon's manifest and merge its catalogs into the saved selection.

    Known catalogs (same addon, type and id) keep enabled / order / extra values; new ones are
    appended (enabled unless they cannot run without a choice); vanished ones are marked missing.
    An addon whose manifest cannot be fetched keeps its catalogs as they were and is reported."""
    addons = list(catalog_addons())
    errors, added, vanished = [], 0, 0
    for addon in addons:
        try:
            manifest = fetch_manifest(addon.url, proxy)
        except AddonError as error:
            errors.append({"addon_id": addon.pk, "addon_name": str(addon), "url": addon.redacted_url, "error": str(error)})
            continue
        with transaction.atomic():
            addon.apply_manifest(manifest, timezone.now())
            addon.save()
            existing = {(c.content_type, c.catalog_id): c for c in addon.catalog_set.all()}
            top = Catalog.objects.aggregate(top=Max("position"))["top"]
            position = 0 if top is None else top + 1
            declared = set()
            catalogs = manifest.catalogs()
            if len(catalogs) > settings.ADDON_MAX_CATALOGS:
                errors.append({"addon_id": addon.pk, "addon_name": str(addon), "url": addon.redacted_url, "error": (
                    f"It declares {len(catalogs)} catalogs; only the first {settings.ADDON_MAX_CATALOGS} are "
                    "loaded (ADDON_MAX_CATALOGS).")})
                catalogs = catalogs[: settings.ADDON_MAX_CATALOGS]
            new = []
            for decl in catalogs:
                key = (decl.type, decl.id)
                declared.add(key)
                extras = [extra.as_dict() for extra in decl.extras]
                catalog = existing.get(key)
                if catalog is None:
                    new.append(Catalog(
                        addon=addon, content_type=decl.type, catalog_id=decl.id, name=decl.name, extras=extras,
                        enabled=extras_blocker(decl.extras, {}) is None, position=position + len(new),
                    ))
                else:
                    catalog.name = decl.name
                    catalog.extras = extras
                    catalog.missing = False
                    catalog.extra_values = {k: v for k, v in catalog.extra_values.items() if any(e["name"] == k for e in extras)}
                    catalog.save()
            Catalog.objects.bulk_create(new, batch_size=500)
            added += len(new)
            for key, catalog in existing.items():
                if key not in declared and not catalog.missing:
                    catalog.missing = True
                    catalog.save(update_fields=["missing"])
                    vanished += 1
    catalogs = list(selection_queryset())
    return {
        "catalogs": catalogs,
        "errors": errors,
        "total_addons": len(addons),
        "total_catalogs": len(catalogs),
        "added": added,
        "missing": vanished,
    }


def restore_addon(url: str, fields: dict, catalogs: list[dict]) -> tuple[Addon, bool]:
    """A configuration import's write: the addon with this URL (or a new one) takes `fields`, and
    its catalogs `catalogs` (each checked by `check_saved_catalog`); no manifest is fetched. The URL
    must have passed `normalise` and the role `check_role`. Returns (addon, created)."""
    addon = find_duplicate(url)
    created = addon is None
    addon = Addon(url=url) if created else Addon.objects.get(pk=addon.pk)
    for name, value in fields.items():
        setattr(addon, name, value)
    addon.save()
    for values in catalogs:
        Catalog.objects.update_or_create(
            addon=addon, content_type=values["content_type"], catalog_id=values["catalog_id"], defaults=values
        )
    return addon, created


def _check_saved_extras(extras) -> list[dict]:
    if not isinstance(extras, list) or not all(
        isinstance(extra, dict) and isinstance(extra.get("name"), str) and extra["name"]
        and isinstance(extra.get("isRequired", False), bool)
        and isinstance(extra.get("options", []), list) and all(isinstance(o, str) for o in extra.get("options", []))
        for extra in extras
    ):
        raise AddonError(
            'Extras must be a list of {"name": text, "isRequired": true/false, "options": [text, …]}.',
            field="extras",
        )
    return [CatalogExtra.from_dict(extra).as_dict() for extra in extras]


def check_saved_catalog(entry) -> dict:
    """A catalog as an export saved it (`type`, `id`, `name`, `extras`, `extra_values`, `enabled`,
    `position`, `missing`), checked like the Catalogs page checks a choice: the Catalog fields to
    store. AddonError names the field."""
    if not isinstance(entry, dict):
        raise AddonError("A catalog must be an object.", field="catalogs")
    for key in ("type", "id"):
        if not isinstance(entry.get(key), str) or not entry[key]:
            raise AddonError(f"A catalog needs “{key}” (text).", field=key)
    catalog = Catalog(
        content_type=entry["type"], catalog_id=entry["id"], name=str(entry.get("name") or ""),
        extras=_check_saved_extras(entry.get("extras", [])),
    )
    for key, kind, default in (("enabled", bool, True), ("missing", bool, False), ("position", int, 0)):
        value = entry.get(key, default)
        if not isinstance(value, kind) or (kind is int and (isinstance(value, bool) or value < 0)):
            raise AddonError(f"“{key}” must be {'true or false' if kind is bool else 'a whole number, 0 or more'}.",
                             field=key)
        setattr(catalog, key, value)
    catalog.extra_values = clean_choice(catalog, enabled=catalog.enabled, extra_values=entry.get("extra_values", {}))
    fields = ("content_type", "catalog_id", "name", "extras", "extra_values", "enabled", "position", "missing")
    return {name: getattr(catalog, name) for name in fields}


def clean_choice(catalog: Catalog, *, enabled: bool, extra_values) -> dict:
    """The user's choice for one catalog, however it arrives (Catalogs page and API, admin, import):
    returns the clean extra values; refuses values the catalog does not offer and enabling a
    search-only catalog."""
    values = validate_extra_values(catalog, extra_values)
    if enabled and catalog.search_only:
        raise AddonError(f"“{catalog.name or catalog.catalog_id}” is search-only and cannot be prefetched.",
                         field="enabled")
    return values


def validate_extra_values(catalog: Catalog, values: dict) -> dict:
    if not isinstance(values, dict):
        raise AddonError("Extra values must be an object of name: value.", field="extra_values")
    declared = {e["name"]: e for e in catalog.extras}
    clean = {}
    for name, value in values.items():
        if name not in declared or name in ("skip", "search"):
            raise AddonError(f"Catalog “{catalog.name}” has no choosable extra “{name}”.", field="extra_values")
        if value in (None, ""):
            continue
        if not isinstance(value, str):
            raise AddonError(f"The value for “{name}” must be text.", field="extra_values")
        options = declared[name].get("options") or []
        if options and value not in options:
            raise AddonError(f"“{value}” is not one of the options for “{name}”.", field="extra_values")
        clean[name] = value
    return clean


@transaction.atomic
def save_selection(entries: list[dict]) -> None:
    """Apply `[{id, enabled?, extra_values?}]`; the list order becomes the engine's order.

    Catalogs not listed keep their settings and follow the listed ones in their old order."""
    ids = [entry["id"] for entry in entries]
    if len(set(ids)) != len(ids):
        raise AddonError("A catalog is listed twice.", field="catalogs")
    rows = {c.pk: c for c in Catalog.objects.select_for_update().filter(pk__in=ids)}
    unknown = [pk for pk in ids if pk not in rows]
    if unknown:
        raise AddonError(f"Unknown catalog id(s): {', '.join(map(str, unknown))}.", field="catalogs")
    for position, entry in enumerate(entries):
        catalog = rows[entry["id"]]
        catalog.position = position
        if "extra_values" in entry or entry.get("enabled"):  # a reorder alone changes no choice
            catalog.extra_values = clean_choice(
                catalog, enabled=entry.get("enabled", catalog.enabled),
                extra_values=entry.get("extra_values", catalog.extra_values),
            )
        catalog.enabled = entry.get("enabled", catalog.enabled)
        catalog.save()
    rest = Catalog.objects.exclude(pk__in=ids).order_by("position", "id")
    for offset, catalog in enumerate(rest, start=len(ids)):
        if catalog.position != offset:
            Catalog.objects.filter(pk=catalog.pk).update(position=offset)
