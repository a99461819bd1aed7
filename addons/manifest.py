"""Pure functions over addon URLs and manifests (see protocol.md §1-§3). No I/O here."""

import hashlib
import re
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit, urlunsplit

CINEMETA_MANIFEST_URL = "https://v3-cinemeta.strem.io/manifest.json"  # the official meta addon
_RESOURCE_SUFFIX = re.compile(r"/(catalog|meta|stream|subtitles|addon_catalog)/.*$")
# Ids and types are data of any length an addon likes, stored as text. Beyond this the item is
# refused (reported, never stored): PostgreSQL cannot index arbitrarily long text.
MAX_ID_CHARS = 1000


def addon_key(url: str) -> str:
    """Stable, non-secret key of an addon URL. Prefetch records use it so they outlive the Addon row."""
    return hashlib.sha256(url.encode()).hexdigest()[:40]


def addon_fingerprint(url: str) -> str:
    """Six hex digits that tell configurations apart without revealing them (the key's start)."""
    return addon_key(url)[:6]


def id_too_long(*values: str) -> bool:
    """An id or type that cannot be stored: too long, or holding a NUL (PostgreSQL text cannot)."""
    return any(len(value) > MAX_ID_CHARS or NUL in value for value in values)


# NUL characters: PostgreSQL text and jsonb cannot hold them (a DataError, a 500). Text a user writes
# is refused with NUL_REFUSAL; text an addon sends (manifests, titles) has them stripped.
NUL = "\x00"
NUL_REFUSAL = "Remove the NUL character (\\0): text cannot contain it."


def has_nul(value) -> bool:
    return isinstance(value, str) and NUL in value


# A lone surrogate (\ud800-\udfff without its pair) is not Unicode text: JSON's \u escapes carry one,
# and no encoder (UTF-8 for SQLite and PostgreSQL alike) takes it.
SURROGATE_REFUSAL = "Not valid text: it holds a lone surrogate (an unpaired \\ud800-\\udfff escape)."


def _text_refusal(value) -> str | None:
    if not isinstance(value, str):
        return None
    if NUL in value:
        return NUL_REFUSAL
    if not value.isascii() and any("\ud800" <= char <= "\udfff" for char in value):
        return SURROGATE_REFUSAL
    return None


def unstorable_text_at(data) -> tuple[str, str, str] | None:
    """The first string or key in `data`, at any depth, that no database can store: (its top-level
    key, its path such as `addons[0].name`, the refusal), or None. Depth-first without recursion."""
    stack = [("", "", data)]
    while stack:
        top, path, value = stack.pop()
        if (refusal := _text_refusal(value)) is not None:
            return top, path, refusal
        if isinstance(value, dict):
            for key, item in value.items():
                if (refusal := _text_refusal(key)) is not None:
                    return top or repr(key), f"{path}.{key!r}" if path else repr(key), refusal
                stack.append((top or str(key), f"{path}.{key}" if path else str(key), item))
        elif isinstance(value, list):
            stack.extend((top, f"{path}[{index}]", item) for index, item in enumerate(value))
    return None


def strip_nul(value):
    """`value` with NUL removed from every string in it (dict keys too), for addon-sent data."""
    if isinstance(value, str):
        return value.replace(NUL, "") if NUL in value else value
    if isinstance(value, list):
        return [strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {strip_nul(key): strip_nul(item) for key, item in value.items()}
    return value


class AddonUrlError(ValueError):
    pass


class ManifestError(ValueError):
    pass


def split_url(url: str, what: str = "addon URL") -> SplitResult:
    """`urlsplit` of a user's URL, its host and port checked: the one place a malformed URL
    (`http://[::1`, a port past 65535) becomes an `AddonUrlError` with a message, never a ValueError
    later. Addon, fallback metadata and proxy URLs all go through here."""
    if NUL in url:
        raise AddonUrlError(f"The {what} contains a NUL character (\\0): remove it.")
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a port that is not a number in 0-65535
    except ValueError:
        raise AddonUrlError(f"The {what} is malformed (check the host name, brackets and port).") from None
    return parts


def normalize_addon_url(raw: str) -> str:
    """Turn what a user pasted into the addon's transport URL (`…/manifest.json`)."""
    url = (raw or "").strip()
    if not url:
        raise AddonUrlError("Enter the addon's URL.")
    parts = split_url(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or not parts.hostname:
        raise AddonUrlError("The addon URL must start with http:// or https:// and name a host.")
    path = parts.path.rstrip("/")
    path = _RESOURCE_SUFFIX.sub("", path)
    for suffix in ("/configure", "/manifest.json"):
        if path.endswith(suffix):
            path = path[: -len(suffix)]
    path = path.rstrip("/") + "/manifest.json"
    return urlunsplit((parts.scheme, parts.netloc, path, parts.query, ""))


def resource_url(transport_url: str, *parts: str, extra: str = "") -> str:
    """`…/manifest.json` -> `…/{part}/{part}/{part}[/{extra}].json`, keeping any query string."""
    parsed = urlsplit(transport_url)
    base = parsed.path[: -len("/manifest.json")]
    path = base + "/" + "/".join(parts) + (f"/{extra}" if extra else "") + ".json"
    return urlunsplit((parsed.scheme, parsed.netloc, path, parsed.query, ""))


def _as_str_list(value) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


@dataclass(frozen=True)
class CatalogExtra:
    name: str
    required: bool
    options: tuple[str, ...]

    def as_dict(self) -> dict:
        """How a Catalog row stores it (`Catalog.extras`)."""
        return {"name": self.name, "isRequired": self.required, "options": list(self.options)}

    @classmethod
    def from_dict(cls, data: dict) -> "CatalogExtra":
        return cls(data["name"], bool(data.get("isRequired")), tuple(data.get("options") or ()))


# The rule of required extras, the one definition: the Catalogs page, the selection service, the
# catalog loader and the engine all ask these.
def declares_skip(extras: tuple[CatalogExtra, ...]) -> bool:
    """`skip` is paging: the engine sets it, never the user."""
    return any(extra.name == "skip" for extra in extras)


def search_only(extras: tuple[CatalogExtra, ...]) -> bool:
    """A required search term: there is nothing to prefetch without someone typing one."""
    return any(extra.required and extra.name == "search" for extra in extras)


def unmet_extras(extras: tuple[CatalogExtra, ...], values: dict) -> list[str]:
    """Required extras the user has to choose a value for and has not (never `skip` or `search`)."""
    return [
        extra.name for extra in extras
        if extra.required and extra.name not in ("skip", "search") and not values.get(extra.name)
    ]


def extras_blocker(extras: tuple[CatalogExtra, ...], values: dict) -> str | None:
    """Why a catalog cannot be prefetched with these chosen values, or None when it can."""
    if search_only(extras):
        return "search-only catalog"
    unmet = unmet_extras(extras, values)
    return f"required extra not chosen: {', '.join(unmet)}" if unmet else None


@dataclass(frozen=True)
class CatalogDecl:
    type: str
    id: str
    name: str
    extras: tuple[CatalogExtra, ...]

    @property
    def search_only(self) -> bool:
        return search_only(self.extras)


class Manifest:
    """A validated addon manifest with the protocol's resource-matching rule."""

    def __init__(self, data: dict):
        if not isinstance(data, dict):
            raise ManifestError("The addon did not answer with a manifest (not a JSON object).")
        missing = [key for key in ("id", "name", "version", "resources", "types", "catalogs") if key not in data]
        if missing:
            raise ManifestError(f"The addon's manifest lacks {', '.join(missing)}: is this a Stremio addon URL?")
        if not isinstance(data["resources"], list) or not isinstance(data["types"], list):
            raise ManifestError("The addon's manifest has malformed resources or types.")
        if not isinstance(data["catalogs"], list):
            raise ManifestError("The addon's manifest has malformed catalogs.")
        self.data = strip_nul(data)  # the one place manifest texts come in: names, catalogs, ids

    @property
    def name(self) -> str:
        return str(self.data.get("name") or self.data.get("id"))

    @property
    def configuration_required(self) -> bool:
        hints = self.data.get("behaviorHints")
        return bool(isinstance(hints, dict) and hints.get("configurationRequired"))

    def _resource(self, name: str):
        """(types, idPrefixes or None) for a resource, or None when the addon lacks it."""
        for resource in self.data["resources"]:
            if resource == name:
                prefixes = self.data.get("idPrefixes")
                return _as_str_list(self.data["types"]), (_as_str_list(prefixes) if prefixes else None)
            if isinstance(resource, dict) and resource.get("name") == name:
                prefixes = resource.get("idPrefixes")
                return _as_str_list(resource.get("types")), (_as_str_list(prefixes) if prefixes else None)
        return None

    def has_resource(self, name: str) -> bool:
        return self._resource(name) is not None

    def scope(self, name: str) -> tuple[list[str], list[str] | None]:
        """(types, idPrefixes or None = any id) a resource serves; ([], None) when the addon lacks it."""
        return self._resource(name) or ([], None)

    def supports(self, resource: str, content_type: str, item_id: str) -> bool:
        found = self._resource(resource)
        if found is None:
            return False
        types, prefixes = found
        return content_type in types and (prefixes is None or any(item_id.startswith(p) for p in prefixes))

    def supports_type(self, resource: str, content_type: str) -> bool:
        found = self._resource(resource)
        return found is not None and content_type in found[0]

    def catalogs(self) -> list[CatalogDecl]:
        declared = []
        seen = set()
        for raw in self.data["catalogs"]:
            if not isinstance(raw, dict) or not isinstance(raw.get("id"), str) or not isinstance(raw.get("type"), str):
                continue
            if id_too_long(raw["type"], raw["id"]):
                continue
            if (raw["type"], raw["id"]) in seen:
                continue
            seen.add((raw["type"], raw["id"]))
            declared.append(
                CatalogDecl(type=raw["type"], id=raw["id"], name=str(raw.get("name") or raw["id"]), extras=_extras(raw))
            )
        return declared

    def resource_names(self) -> list[str]:
        """`stream`, `meta`, …: resources are names or objects with a name."""
        names = (r if isinstance(r, str) else r.get("name") if isinstance(r, dict) else None for r in self.data["resources"])
        return [name for name in names if isinstance(name, str)]

    def summary(self) -> dict:
        """What we cache on the Addon row."""
        return {
            "id": self.data.get("id"),
            "name": self.name,
            "version": str(self.data.get("version", "")),
            "logo": self.data.get("logo") if isinstance(self.data.get("logo"), str) else "",
            "types": _as_str_list(self.data["types"]),
            "idPrefixes": _as_str_list(self.data.get("idPrefixes")),
            "resources": self.data["resources"],
            "catalogs": [
                {"type": c.type, "id": c.id, "name": c.name, "extra": [e.as_dict() for e in c.extras]}
                for c in self.catalogs()
            ],
        }


def _extras(raw: dict) -> tuple[CatalogExtra, ...]:
    if isinstance(raw.get("extra"), list):
        extras = []
        for extra in raw["extra"]:
            if isinstance(extra, dict) and isinstance(extra.get("name"), str):
                extras.append(
                    CatalogExtra(extra["name"], bool(extra.get("isRequired")), tuple(_as_str_list(extra.get("options"))))
                )
        return tuple(extras)
    # Legacy short form, only when `extra` is absent.
    required = set(_as_str_list(raw.get("extraRequired")))
    supported = _as_str_list(raw.get("extraSupported"))
    names = supported + [name for name in required if name not in supported]
    return tuple(CatalogExtra(name, name in required, ()) for name in names)
