"""All configuration comes from environment variables, read here and nowhere else.

With no environment at all the app runs embedded: SQLite in DATA_DIR, an in-memory Celery broker
and channel layer, and one process hosting web server, worker and beat (`manage.py serve`).
Setting REDIS_URL switches to separate web / worker / beat processes talking over Redis.
"""

import ipaddress
import logging
import secrets
from datetime import timedelta
from pathlib import Path

import environ
from celery.schedules import crontab
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.FileAwareEnv()  # every variable also accepts VAR_FILE (Docker secrets)

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_bool(name: str, default: bool) -> bool:
    """Strict boolean: anything but the usual spellings is a configuration error, not False."""
    raw = env.str(name, default=str(default)).strip().lower()
    if raw in _TRUE:
        return True
    if raw in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be one of true/false/1/0/yes/no/on/off, got {raw!r}")


DATA_DIR = Path(env.str("DATA_DIR", default=str(BASE_DIR / "data"))).resolve()
LOG_DIR = DATA_DIR / "logs"
for _sub in ("db", "logs"):
    (DATA_DIR / _sub).mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    given = env.str("SECRET_KEY", default="")
    if given:
        return given
    key_file = DATA_DIR / "secret_key"
    if not key_file.exists():
        key_file.write_text(secrets.token_urlsafe(50))
        key_file.chmod(0o600)
    return key_file.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = env_bool("DEBUG", False)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", default=["*"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", default=[])
PORT = env.int("PORT", default=8000)
# First admin account, created by `migrate` when both are set (no default password, ever).
ADMIN_USERNAME = env.str("ADMIN_USERNAME", default="")
ADMIN_PASSWORD = env.str("ADMIN_PASSWORD", default="")
REDIS_URL = env.str("REDIS_URL", default="")
EMBEDDED = not REDIS_URL

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "servestatic",  # its configuration checks; above staticfiles, `runserver` leaves static files to it too
    "django.contrib.staticfiles",
    "channels",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_celery_beat",
    "axes",
    "csp",
    "addons",
    "prefetch",
    "prefetch.follow",
    "schedules",
    "prefetcher_site",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    # Static files: hashed names cached for good, gzip when asked; async file reads under ASGI.
    "servestatic.middleware.ServeStaticMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "prefetcher_site.websocket_origin.SameOriginEventStream",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "prefetcher_site.accounts.LoginRequiredMiddleware",  # every page needs a user unless marked public
    "prefetcher_site.accounts.FirstRunMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "axes.middleware.AxesMiddleware",  # last: turns a locked-out sign-in into the lockout page
]
# Axes first: it refuses a locked-out username + address before any password is checked.
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]

# Optional sign-in by a reverse proxy's header (Authelia / Authentik), off unless the proxies are named.
REMOTE_USER_HEADER = env.str("REMOTE_USER_HEADER", default="Remote-User")
REMOTE_USER_TRUSTED_PROXIES = env.list("REMOTE_USER_TRUSTED_PROXIES", default=[])
for _network in REMOTE_USER_TRUSTED_PROXIES:
    try:
        ipaddress.ip_network(_network, strict=False)
    except ValueError:
        raise ImproperlyConfigured(f"REMOTE_USER_TRUSTED_PROXIES: {_network!r} is not an IP address or network")
if REMOTE_USER_TRUSTED_PROXIES:
    MIDDLEWARE.insert(
        MIDDLEWARE.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1,
        "prefetcher_site.accounts.TrustedProxyRemoteUserMiddleware",
    )
    # Creates the user on first sight.
    AUTHENTICATION_BACKENDS.insert(1, "django.contrib.auth.backends.RemoteUserBackend")

ROOT_URLCONF = "prefetcher_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
WSGI_APPLICATION = "prefetcher_site.wsgi.application"
ASGI_APPLICATION = "prefetcher_site.asgi.application"

# An empty DATABASE_URL (a blank line in .env) means the default, like an unset one.
DATABASES = {
    "default": env.db_url_config(
        env.str("DATABASE_URL", default="") or f"sqlite:///{DATA_DIR / 'db' / 'prefetcher.sqlite3'}"
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not memory, so that a worker process started by a test sees the test database.
    DATABASES["default"]["TEST"] = {"NAME": str(DATA_DIR / "db" / "test.sqlite3")}
    # Web, worker and beat may share the file: wait for locks instead of failing, and let
    # readers proceed while the engine writes.
    DATABASES["default"]["OPTIONS"] = {
        "timeout": 30,
        "transaction_mode": "IMMEDIATE",
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
else:
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "en-us"
TIME_ZONE = env.str("TZ", default="UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = env.str("STATIC_ROOT", default=str(BASE_DIR / "staticfiles"))
Path(STATIC_ROOT).mkdir(parents=True, exist_ok=True)
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "servestatic.storage.CompressedManifestStaticFilesStorage"},
}
if DEBUG or not (env_bool("STATIC_MANIFEST", False) or Path(STATIC_ROOT, "staticfiles.json").exists()):
    # Without collectstatic (make run, tests) serve straight from the finders.
    STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}
    SERVESTATIC_USE_FINDERS = True

# Proxies whose X-Forwarded-For `manage.py serve` applies to the client address.
FORWARDED_ALLOW_IPS = env.str("FORWARDED_ALLOW_IPS", default="127.0.0.1")
# Behind Traefik / Nginx: trust X-Forwarded-Proto only when told to.
if env_bool("USE_X_FORWARDED_PROTO", False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE
# Served over HTTPS (SECURE_COOKIES on): redirect plain HTTP, except the in-network probes.
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", SESSION_COOKIE_SECURE)
SECURE_REDIRECT_EXEMPT = [r"^api/health$", r"^metrics$"]
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0)  # e.g. 31536000 once HTTPS works
SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", False)

# --- Sign-in throttling (django-axes): the app's sign-in page and the admin's ---------------------
# AXES_FAILURE_LIMIT wrong passwords for one username from one address lock that pair out for
# AXES_COOLOFF_MINUTES; other users and addresses keep signing in. `manage.py axes_reset` unlocks.
AXES_FAILURE_LIMIT = env.int("AXES_FAILURE_LIMIT", default=5)
AXES_COOLOFF_TIME = timedelta(minutes=env.float("AXES_COOLOFF_MINUTES", default=15.0))
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False  # no start-up banner: stdout of `manage.py prefetch --json` is the JSON only
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
# The client address is REMOTE_ADDR only: the ASGI server already replaced it with X-Forwarded-For's
# client when, and only when, the request came from FORWARDED_ALLOW_IPS. Reading the header here
# would let anyone pick the address they are counted under.
AXES_IPWARE_META_PRECEDENCE_ORDER = ["REMOTE_ADDR"]
# The failure log line names the username and address (what fail2ban or an admin needs); axes
# never logs the password.
AXES_SENSITIVE_PARAMETERS = []

# --- Content-Security-Policy (django-csp) ----------------------------------------------------------
# No inline script or style anywhere: page data travels in json_script blocks and data-* attributes.
# Addon logos are remote https images; 'self' in connect-src covers the same-origin WebSocket.
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:", "https:"],
        "connect-src": [SELF],
        "frame-ancestors": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "object-src": [NONE],
    },
}

# --- Operations: metrics token, run notifications ---------------------------------------------------
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")  # bearer token for /metrics; empty = sign-in only
NOTIFY_WEBHOOK_URL = env.str("NOTIFY_WEBHOOK_URL", default="")  # POSTed a JSON summary when a run ends
NOTIFY_APPRISE_URL = env.str("NOTIFY_APPRISE_URL", default="")  # needs the apprise package installed
NOTIFY_ON = env.str("NOTIFY_ON", default="failure").strip().lower()
if NOTIFY_ON not in ("failure", "always"):
    raise ImproperlyConfigured(f"NOTIFY_ON must be failure or always, got {NOTIFY_ON!r}")
NOTIFY_TIMEOUT_S = env.float("NOTIFY_TIMEOUT_S", default=10.0)

# Largest addon answers accepted, decoded (MB): real manifests are a few KB to a few hundred KB.
ADDON_MAX_MANIFEST_MB = env.float("ADDON_MAX_MANIFEST_MB", default=5.0)
ADDON_MAX_ANSWER_MB = env.float("ADDON_MAX_ANSWER_MB", default=20.0)
# Catalogs taken from one addon's manifest; real addons declare a few to a few hundred.
ADDON_MAX_CATALOGS = env.int("ADDON_MAX_CATALOGS", default=1000)
# Items taken from one catalog page (the rest of the page is counted and left out, with a message):
# real addons answer 100 or so per page; this keeps a run's memory flat whatever an addon sends.
ADDON_MAX_PAGE_ITEMS = env.int("ADDON_MAX_PAGE_ITEMS", default=10000)
# Network policy for addon URLs (addons/network_policy.py): empty lists = any address but link-local
# and metadata ones; set either to allow only what is listed (networks may also lift those refusals).
ADDON_ALLOWED_HOSTS = [host.strip().lower() for host in env.list("ADDON_ALLOWED_HOSTS", default=[]) if host.strip()]
try:
    ADDON_ALLOWED_NETWORKS = [ipaddress.ip_network(n.strip(), strict=False) for n in env.list("ADDON_ALLOWED_NETWORKS", default=[]) if n.strip()]
except ValueError as _error:
    raise ImproperlyConfigured(f"ADDON_ALLOWED_NETWORKS: {_error}")

# --- Celery -------------------------------------------------------------------------------------
# The in-memory broker of the single process; named host, as kombu otherwise warns that none was given.
CELERY_BROKER_URL = REDIS_URL or "memory://localhost/"
# Several installations may share one Redis: each needs a queue of its own, which also names its
# workers' control messages (a health ping hears only its own workers) and its progress channels.
CELERY_TASK_DEFAULT_QUEUE = env.str("CELERY_QUEUE", default="celery")
CELERY_CONTROL_EXCHANGE = CELERY_TASK_DEFAULT_QUEUE
CELERY_RESULT_BACKEND = None
CELERY_RESULT_EXPIRES = None  # no result backend, so no built-in cleanup task in beat
CELERY_TASK_IGNORE_RESULT = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_ENABLE_UTC = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_TRACK_STARTED = True
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# A run can last hours; never let Redis hand an unacknowledged message to a second worker.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 12 * 3600}
if EMBEDDED:  # the memory broker is polled (1 s by default): a companion play's lane starts within 0.1 s
    CELERY_BROKER_TRANSPORT_OPTIONS["polling_interval"] = 0.1
# django-celery-beat's DatabaseScheduler, plus a heartbeat and the orphaned-run reaper on its tick.
CELERY_BEAT_SCHEDULER = "schedules.scheduler:Scheduler"
# Liveness, in seconds. A worker refreshes its run's heartbeat every RUN_HEARTBEAT_S; a run whose
# heartbeat is older than RUN_STALE_AFTER_S lost its worker and is resumed elsewhere. Beat looks for
# such runs every RUN_REAP_INTERVAL_S and writes its own heartbeat at least every
# SCHEDULER_HEARTBEAT_S; the scheduler is reported stale after SCHEDULER_STALE_AFTER_S without one.
RUN_HEARTBEAT_S = env.float("RUN_HEARTBEAT_S", default=5.0)
RUN_STALE_AFTER_S = env.float("RUN_STALE_AFTER_S", default=60.0)
RUN_REAP_INTERVAL_S = env.float("RUN_REAP_INTERVAL_S", default=30.0)
SCHEDULER_HEARTBEAT_S = env.float("SCHEDULER_HEARTBEAT_S", default=15.0)
SCHEDULER_STALE_AFTER_S = env.float("SCHEDULER_STALE_AFTER_S", default=90.0)
DJANGO_CELERY_BEAT_TZ_AWARE = True
# Housekeeping only; user schedules live in the database (schedules app), never here.
# How often beat looks for announced episodes that are due for release-day warming (prefetch.releases).
RELEASE_WARM_INTERVAL_S = env.float("RELEASE_WARM_INTERVAL_S", default=900.0)
# How often beat reads the connected Stremio and Trakt accounts for what to keep warm (prefetch.follow).
FOLLOW_SYNC_INTERVAL_S = env.float("FOLLOW_SYNC_INTERVAL_S", default=900.0)
# How often beat probes every enabled addon's manifest for the addon health (addons.health).
ADDON_HEALTH_INTERVAL_S = env.float("ADDON_HEALTH_INTERVAL_S", default=300.0)
CELERY_BEAT_SCHEDULE = {
    "prune-history": {"task": "prefetch.tasks.prune_history", "schedule": crontab(hour=4, minute=17)},
    "warm-releases": {"task": "prefetch.tasks.warm_releases", "schedule": RELEASE_WARM_INTERVAL_S},
    "follow-sync": {"task": "prefetch.follow.tasks.sync", "schedule": FOLLOW_SYNC_INTERVAL_S},
    "probe-addon-health": {"task": "prefetch.tasks.probe_addon_health", "schedule": ADDON_HEALTH_INTERVAL_S},
}

# --- Follow what's watched (prefetch.follow) ----------------------------------------------------------
# The services' base URLs are settings so that tests (and stand-ins) can take their place.
STREMIO_API_URL = env.str("STREMIO_API_URL", default="https://api.strem.io").rstrip("/")
TRAKT_API_URL = env.str("TRAKT_API_URL", default="https://api.trakt.tv").rstrip("/")
# Each self-hoster registers a Trakt app (README, "Follow what's watched"); empty = Trakt not offered.
TRAKT_CLIENT_ID = env.str("TRAKT_CLIENT_ID", default="")
TRAKT_CLIENT_SECRET = env.str("TRAKT_CLIENT_SECRET", default="")
# The address Stremio reaches this site at (https://prefetcher.example.org), for the companion addon's
# URL; empty = the address the Follow page was opened at.
PUBLIC_URL = env.str("PUBLIC_URL", default="").rstrip("/")
# Requests per minute one client address may make to the companion addon (Stremio asks once per title).
COMPANION_RATE_PER_MINUTE = env.int("COMPANION_RATE_PER_MINUTE", default=120)
# Shared by web processes (the companion's rate limit): Redis when there is one, else this process.
CACHES = {
    "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    if REDIS_URL else {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}
}

# The run status (/api/job/status, the dashboard) says when the next scheduled run is and whether the
# scheduler is alive; the schedules app is built on prefetch, so the site names the function here.
RUN_STATUS_SCHEDULE_SUMMARY = "schedules.liveness.schedule_summary"

# --- Channels -----------------------------------------------------------------------------------
# channels_redis waits for messages with a 5 s blocking pop on the server; redis-py 8 gives up on
# a read after 5 s by default, so the client lost that race and every idle socket ended in a
# TimeoutError traceback (and a close with 1011). Reads wait longer than the pop.
CHANNEL_LAYER_READ_TIMEOUT_S = 15


def redis_channel_layer(url: str, queue: str) -> dict:
    return {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": [{"address": url, "socket_timeout": CHANNEL_LAYER_READ_TIMEOUT_S}],
                   "prefix": f"asgi-{queue}", "capacity": 2000, "expiry": 15},
    }


if REDIS_URL:
    CHANNEL_LAYERS = {"default": redis_channel_layer(REDIS_URL, CELERY_TASK_DEFAULT_QUEUE)}
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# --- REST API -----------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "rest_framework.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    # JSON bodies only (what the pages send), absurd nesting refused with a 400; other types are a 415.
    "DEFAULT_PARSER_CLASSES": ["addons.web.json_parser.BoundedJSONParser"],
    "DEFAULT_FILTER_BACKENDS": ["prefetch.web.filters.ListFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "addons.web.api_conventions.EnvelopePagination",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "EXCEPTION_HANDLER": "addons.web.api_conventions.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Streams Prefetcher API",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Docs page assets come from the drf-spectacular-sidecar package: no CDN at runtime.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging ------------------------------------------------------------------------------------
LOG_LEVEL = env.str("LOG_LEVEL", default="INFO").upper()
if LOG_LEVEL not in logging.getLevelNamesMapping():
    raise ImproperlyConfigured(f"LOG_LEVEL must be DEBUG, INFO, WARNING, ERROR or CRITICAL, got {LOG_LEVEL!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact": {"()": "addons.redaction.RedactingFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)-7s %(name)s: %(message)s"},
    },
    "handlers": {
        "stdout": {
            "class": "logging.StreamHandler",
            "stream": "ext://sys.stdout",
            "formatter": "plain",
            "filters": ["redact"],
        }
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "aiohttp": {"level": "WARNING"},
        # gunicorn's uvicorn worker swaps this logger's handlers for its own: filter on the logger.
        "uvicorn.access": {"filters": ["redact"]},
    },
}
