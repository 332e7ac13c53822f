"""Django settings, every value read from the environment.

django-environ is used (rather than dj-database-url) because one well-kept library then
parses every kind of setting we need: database and cache URLs, booleans, lists and ints.
"""

import re
from datetime import timedelta
from pathlib import Path
from typing import Any

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()

DEBUG = env.bool("DEBUG", default=False)

SECRET_KEY = env.str("SECRET_KEY", default="")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "SECRET_KEY must be set when DEBUG is off (set DEBUG=1 for local development)."
        )
    # Development only: a fixed, obviously-insecure key so sessions survive restarts.
    SECRET_KEY = "django-insecure-development-key-do-not-use-in-production"  # noqa: S105

ALLOWED_HOSTS: list[str] = env.list("ALLOWED_HOSTS", default=["127.0.0.1", "localhost"])
CSRF_TRUSTED_ORIGINS: list[str] = env.list("CSRF_TRUSTED_ORIGINS", default=[])

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework_simplejwt.token_blacklist",
    "drf_spectacular",
    # Swagger UI and ReDoc as static files (/api/docs/, /api/redoc/ load no third-party script).
    "drf_spectacular_sidecar",
    "corsheaders",
    "channels",
    "accounts",
    "chats",
    "messaging",
    "realtime",
    "web",
]

MIDDLEWARE = [
    "chatproject.middleware.DatabaseUnavailableMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    # Before CommonMiddleware, as django-cors-headers requires, so its headers reach every /api/ answer.
    "corsheaders.middleware.CorsMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "chatproject.urls"
ASGI_APPLICATION = "chatproject.asgi.application"
WSGI_APPLICATION = "chatproject.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # The project's own templates (chatproject/templates: the ReDoc page without third-party fonts).
        "DIRS": [BASE_DIR / "chatproject" / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASES = {
    "default": env.db_url("DATABASE_URL", default=f"sqlite:///{BASE_DIR / 'db.sqlite3'}"),
}
# Longest a statement may run, and a request wait on PostgreSQL for one answer, before it fails
# (a 503); 0 turns both bounds off (e.g. for a long migration run by hand).
DB_QUERY_TIMEOUT_SECONDS = env.float("DB_QUERY_TIMEOUT_SECONDS", default=5.0)
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    from chatproject.db import BoundedWaitConnection

    # Under Daphne every request runs in a worker thread; a psycopg pool sized to that thread
    # pool (ASGI_THREADS) lets them share warm connections instead of connecting per request.
    DB_POOL_MAX_SIZE = env.int("DB_POOL_MAX_SIZE", default=env.int("ASGI_THREADS", default=10))
    DATABASES["default"]["CONN_MAX_AGE"] = 0
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"]["pool"] = {
        "min_size": env.int("DB_POOL_MIN_SIZE", default=1),
        "max_size": DB_POOL_MAX_SIZE,
        # Fail fast when the database is down, so clients get a quick 503.
        "timeout": env.float("DB_POOL_TIMEOUT", default=5.0),
        # Bounds every wait on a pooled connection (chatproject.db): a hung server is a 503, not a hang.
        "connection_class": BoundedWaitConnection,
    }
    DATABASES["default"]["OPTIONS"].setdefault("connect_timeout", env.int("DB_CONNECT_TIMEOUT", default=3))
    if DB_QUERY_TIMEOUT_SECONDS > 0:
        # The server cancels a slow statement itself; the client-side bound (a little longer) covers a
        # server that cannot answer at all (paused, or its host gone), which no server setting can.
        DATABASES["default"]["OPTIONS"].setdefault(
            "options", f"-c statement_timeout={int(DB_QUERY_TIMEOUT_SECONDS * 1000)}"
        )
    if env.bool("DB_POOL_DISABLED", default=False):
        # Tests that run their own threads open one connection each; a pool gains nothing there.
        del DATABASES["default"]["OPTIONS"]["pool"]
else:
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Redis: channel layer and cache ---------------------------------------------------------
REDIS_URL = env.str("REDIS_URL", default="")
# channels-redis offers two layers; pub/sub measured about 10x lower fan-out latency here
# (bench/channel_layers.py, README "Channel layer"). Both deliver at most once; PostgreSQL and `seq`
# make delivery complete (gap repair and resume), so the weaker buffering of pub/sub costs nothing.
CHANNEL_LAYER = env.str("CHANNEL_LAYER", default="pubsub")
if REDIS_URL:
    if CHANNEL_LAYER == "core":
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [REDIS_URL],
                    "capacity": env.int("CHANNEL_CAPACITY", default=1000),
                    "expiry": 60,
                },
            }
        }
    else:
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL]},
            }
        }
    # Throttle counters live here, so limits hold across several Daphne processes. The socket
    # timeouts bound what a hung Redis costs a request; an unreachable cache is a 503 (chatproject.api).
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chat",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# Broadcasts leave through one sender thread per process (realtime.events): each send may take at
# most this long before it is dropped (clients repair gaps from the database), and at most this many
# wait; a full queue drops new ones. A request never waits on Redis to broadcast.
BROADCAST_TIMEOUT_SECONDS = env.float("BROADCAST_TIMEOUT_SECONDS", default=1.0)
BROADCAST_QUEUE_SIZE = env.int("BROADCAST_QUEUE_SIZE", default=10000)

# --- Auth -----------------------------------------------------------------------------------
AUTH_USER_MODEL = "accounts.User"
# bcrypt first, as the seed does, at cost 10 (see accounts.hashers).
PASSWORD_HASHERS = [
    "accounts.hashers.BCryptSHA256Cost10PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

JWT_ACCESS_MINUTES = env.int("JWT_ACCESS_MINUTES", default=15)
JWT_REFRESH_DAYS = env.int("JWT_REFRESH_DAYS", default=7)
SIMPLE_JWT = {
    "ACCESS_TOKEN_LIFETIME": timedelta(minutes=JWT_ACCESS_MINUTES),
    "REFRESH_TOKEN_LIFETIME": timedelta(days=JWT_REFRESH_DAYS),
    "ROTATE_REFRESH_TOKENS": True,
    "BLACKLIST_AFTER_ROTATION": True,
    "UPDATE_LAST_LOGIN": False,
    "AUTH_HEADER_TYPES": ("Bearer",),
    "SIGNING_KEY": env.str("JWT_SIGNING_KEY", default=SECRET_KEY),
}

# --- REST framework -------------------------------------------------------------------------
THROTTLE_SEND = env.str("THROTTLE_SEND", default="120/min")
# Checked here: a bad value would otherwise surface as a 500 on the first send.
if THROTTLE_SEND and not re.fullmatch(r"[1-9][0-9]*/(s|sec|second|m|min|minute|h|hour|d|day)", THROTTLE_SEND):
    raise ImproperlyConfigured("THROTTLE_SEND must look like 120/min (or be empty for no budget).")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ActiveUserJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["rest_framework.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "chatproject.api.exception_handler",
    "UNAUTHENTICATED_USER": None,
    "DEFAULT_THROTTLE_RATES": {
        "register": env.str("THROTTLE_REGISTER", default="10/min"),
        "login": env.str("THROTTLE_LOGIN", default="20/min"),
        "refresh": env.str("THROTTLE_REFRESH", default="30/min"),
        "ws_ticket": env.str("THROTTLE_WS_TICKET", default="60/min"),
        "attachments": env.str("THROTTLE_ATTACHMENTS", default="60/min"),
        # Per user: GET /api/users searches.
        "user_search": env.str("THROTTLE_USER_SEARCH", default="60/min"),
        # Per user: message sends and edits, REST and WebSocket together (messaging.budget).
        "send": THROTTLE_SEND,
    },
    # Behind a proxy, set NUM_PROXIES so throttles key on the real client address.
    "NUM_PROXIES": env.int("NUM_PROXIES", default=0) or None,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Chat backend API",
    "DESCRIPTION": (
        "Private and group chats over REST and WebSocket. The WebSocket protocol (`/api/ws`) is described "
        "by its AsyncAPI document: [/api/asyncapi.yaml](/api/asyncapi.yaml). ReDoc: [/api/redoc/](/api/redoc/)."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # The default enum hook, then 503 on every operation (any can meet an outage) and 413 on those with a body.
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "chatproject.schema.add_service_unavailable",
        # 413 on every operation with a body: the server answers it before any view (transport_limits).
        "chatproject.schema.add_too_large_responses",
    ],
    # Served from drf-spectacular-sidecar's static files: the docs work offline and load no CDN script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- CORS (django-cors-headers) -------------------------------------------------------------
# Full origins (`https://app.example.com`) whose pages may call the REST API from a browser; none by
# default. The WebSocket Origin check accepts them too (realtime.security).
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Only the API: the admin, the docs and the web client stay same-origin.
CORS_URLS_REGEX = r"^/api/.*$"
# Bearer tokens, not cookies: no credentials. Authorization for the token, Content-Type for JSON bodies.
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE"]
# Clients read these from cross-origin answers: throttling's Retry-After (429 and 503).
CORS_EXPOSE_HEADERS = ["Retry-After"]

# --- Chat limits ----------------------------------------------------------------------------
MESSAGE_MAX_LENGTH = env.int("MESSAGE_MAX_LENGTH", default=4000)
# Whole-request body limit for JSON APIs; far above any valid message. Daphne refuses a larger body
# before reading it (chatproject.transport_limits); Django's own check stays for other servers.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)

# --- WebSocket ------------------------------------------------------------------------------
# Origins a browser handshake may come from; patterns as in ALLOWED_HOSTS, or with a scheme.
WS_ALLOWED_ORIGINS: list[str] = env.list("WS_ALLOWED_ORIGINS", default=ALLOWED_HOSTS)
WS_TICKET_SECONDS = env.int("WS_TICKET_SECONDS", default=30)
# Larger frames close the socket with 1009: under Daphne autobahn refuses them as their header arrives
# (chatproject.transport_limits caps --websocket-max-message-size at this), elsewhere the consumer does.
WS_MAX_FRAME_BYTES = env.int("WS_MAX_FRAME_BYTES", default=64 * 1024)
WS_SEND_RATE_PER_SECOND = env.int("WS_SEND_RATE_PER_SECOND", default=20)
# Every client frame, whatever its type, counts against this per-socket rate (a token bucket that
# saves up to WS_FRAME_BURST); frames over it are dropped with one `rate_limited` error a second.
WS_FRAME_RATE_PER_SECOND = env.float("WS_FRAME_RATE_PER_SECOND", default=30.0)
WS_FRAME_BURST = env.int("WS_FRAME_BURST", default=60)
# Output a socket may have waiting in Daphne for a client that is behind (chatproject.transport_limits):
# past it the socket's sender waits for the client to drain it back under the bound, and a client that
# has not within WS_DRAIN_TIMEOUT_SECONDS is closed with 1008 and its connection aborted.
WS_MAX_BUFFERED_BYTES = env.int("WS_MAX_BUFFERED_BYTES", default=4 * 1024 * 1024)
WS_DRAIN_TIMEOUT_SECONDS = env.float("WS_DRAIN_TIMEOUT_SECONDS", default=5.0)
# The same for a streamed HTTP response (an attachment download): the next chunk waits while this much is
# unsent, and a client that does not read it back under the bound within the timeout is disconnected.
HTTP_MAX_BUFFERED_BYTES = env.int("HTTP_MAX_BUFFERED_BYTES", default=1024 * 1024)
HTTP_DRAIN_TIMEOUT_SECONDS = env.float("HTTP_DRAIN_TIMEOUT_SECONDS", default=30.0)
# Sockets one user may hold open at once, across every process (realtime.limits); more close with 4429.
WS_MAX_SOCKETS_PER_USER = env.int("WS_MAX_SOCKETS_PER_USER", default=20)
WS_TYPING_INTERVAL_SECONDS = env.float("WS_TYPING_INTERVAL_SECONDS", default=2.0)
# Most messages replayed per chat on resume or gap repair; beyond it the client pages over REST.
WS_REPLAY_LIMIT = env.int("WS_REPLAY_LIMIT", default=1000)
# How long a socket holds a message that arrived ahead of its predecessor before it repairs the gap
# from the database (concurrent senders' broadcasts can reach the layer a moment out of order).
WS_REORDER_WAIT_SECONDS = env.float("WS_REORDER_WAIT_SECONDS", default=0.05)
# A new socket holds live messages until the client's first frame, or this long: a `resume` sent
# right after opening is replayed first, so nothing reaches the client twice or out of order.
WS_RESUME_WAIT_SECONDS = env.float("WS_RESUME_WAIT_SECONDS", default=0.5)
# A handshake not accepted or refused within this long (a hung database or Redis) is accepted and
# closed with 1013; keep it below Daphne's --websocket_connect_timeout (5 s), which answers nothing.
WS_HANDSHAKE_TIMEOUT_SECONDS = env.float("WS_HANDSHAKE_TIMEOUT_SECONDS", default=3.0)
# How often each process pings Redis; on failure its sockets close with 1013.
WS_LAYER_CHECK_SECONDS = env.float("WS_LAYER_CHECK_SECONDS", default=2.0)
# On SIGTERM a Daphne process stops listening, closes its sockets with 1012 (service restart) and lets
# in-flight requests finish, exiting within this long (chatproject.graceful); chatproject.serve kills
# a process still running after it.
SHUTDOWN_GRACE_SECONDS = env.float("SHUTDOWN_GRACE_SECONDS", default=10.0)

# --- Presence (realtime.presence) -----------------------------------------------------------
# Each open socket's entry expires this long after its process last refreshed it: how long a user of
# a crashed process still shows online. Every process refreshes its sockets (and sweeps expired
# ones, announcing those users offline) every PRESENCE_HEARTBEAT_SECONDS.
PRESENCE_TTL_SECONDS = env.float("PRESENCE_TTL_SECONDS", default=30.0)
PRESENCE_HEARTBEAT_SECONDS = env.float("PRESENCE_HEARTBEAT_SECONDS", default=10.0)
# Presence frames go to chats of at most this many members; larger rooms read `online` over REST.
PRESENCE_FANOUT_MAX_MEMBERS = env.int("PRESENCE_FANOUT_MAX_MEMBERS", default=100)
if not 0 < PRESENCE_HEARTBEAT_SECONDS < PRESENCE_TTL_SECONDS:
    raise ImproperlyConfigured("PRESENCE_HEARTBEAT_SECONDS must be above 0 and below PRESENCE_TTL_SECONDS.")

# --- Web client (web: `/`) ------------------------------------------------------------------
# The browser client served at `/`; off, `/` is a JSON 404 and the admin has no "View site" link.
WEB_CLIENT = env.bool("WEB_CLIENT", default=True)

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
# collectstatic writes here and whitenoise serves from here (the browser tests point it at a temporary copy).
STATIC_ROOT = env.path("STATIC_ROOT", default=BASE_DIR / "staticfiles")
STORAGES: dict[str, dict[str, Any]] = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "whitenoise.storage.CompressedManifestStaticFilesStorage"
            if not DEBUG
            else "django.contrib.staticfiles.storage.StaticFilesStorage"
        )
    },
}

# --- Attachments (messaging: POST /api/attachments) -----------------------------------------
# Uploads are stored through Django's storage API: local files under MEDIA_ROOT by default, never
# served from there directly (GET /api/attachments/{id}/download checks membership and streams).
MEDIA_ROOT = env.path("MEDIA_ROOT", default=BASE_DIR / "media")
ATTACHMENT_MAX_BYTES = env.int("ATTACHMENT_MAX_BYTES", default=10 * 1024 * 1024)
ATTACHMENTS_PER_MESSAGE = env.int("ATTACHMENTS_PER_MESSAGE", default=10)
# Uploads no message carries are removed by `manage.py cleanup_attachments` after this long.
ATTACHMENT_UNSENT_MAX_AGE_HOURS = env.float("ATTACHMENT_UNSENT_MAX_AGE_HOURS", default=24.0)
# An S3-compatible bucket instead of local files (django-storages; credentials from boto3's usual
# AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY environment variables or instance role).
AWS_STORAGE_BUCKET_NAME = env.str("AWS_STORAGE_BUCKET_NAME", default="")
if AWS_STORAGE_BUCKET_NAME:
    STORAGES["default"] = {
        "BACKEND": "storages.backends.s3.S3Storage",
        "OPTIONS": {
            "bucket_name": AWS_STORAGE_BUCKET_NAME,
            "endpoint_url": env.str("AWS_S3_ENDPOINT_URL", default="") or None,
            "region_name": env.str("AWS_S3_REGION_NAME", default="") or None,
            "location": env.str("AWS_LOCATION", default=""),
            # Objects stay private (the bucket's policy decides); names are random, never overwritten.
            "default_acl": None,
            "file_overwrite": False,
        },
    }

# --- Security -------------------------------------------------------------------------------
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = env.bool("SECURE_SSL_REDIRECT", default=not DEBUG)
# Health checks come over plain HTTP from the orchestrator.
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]
SESSION_COOKIE_SECURE = env.bool("SESSION_COOKIE_SECURE", default=not DEBUG)
CSRF_COOKIE_SECURE = env.bool("CSRF_COOKIE_SECURE", default=not DEBUG)
SECURE_HSTS_SECONDS = env.int("SECURE_HSTS_SECONDS", default=0 if DEBUG else 31536000)
SECURE_HSTS_INCLUDE_SUBDOMAINS = not DEBUG
# Production sends the full HSTS header (check --deploy W021); SECURE_HSTS_PRELOAD=0 opts out.
SECURE_HSTS_PRELOAD = env.bool("SECURE_HSTS_PRELOAD", default=not DEBUG)
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", default="INFO")},
}

# User.email is unique case-insensitively through a functional unique index (Lower(email)), which
# this check cannot see; logins look emails up with iexact, so the index is what guarantees one match.
SILENCED_SYSTEM_CHECKS = ["auth.E003"]

# --- issue 14: observability ---
# Old SECRET_KEYs still accepted for sessions and signed values while a new one takes over (README,
# "Rotating SECRET_KEY and JWT_SIGNING_KEY"); JWTs use JWT_SIGNING_KEY, which has no fallbacks.
SECRET_KEY_FALLBACKS: list[str] = env.list("SECRET_KEY_FALLBACKS", default=[])
# Prometheus metrics at /metrics (chatproject.metrics_view): ours (chatproject.metrics) and
# django-prometheus's for requests and the database. Only from these networks, or with
# `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets the JSON 404 of an unknown URL. Behind a
# proxy the address is the client's only with Daphne's --proxy-headers (compose) or NUM_PROXIES.
METRICS_ALLOWED_CIDRS: list[str] = env.list("METRICS_ALLOWED_CIDRS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Scrapers come over plain HTTP, from inside the deployment.
SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]
INSTALLED_APPS += ["django_prometheus"]
MIDDLEWARE = [
    # Outermost: every response, errors included, carries X-Request-ID and gets one access record.
    "chatproject.logs.RequestLogMiddleware",
    "django_prometheus.middleware.PrometheusBeforeMiddleware",
    *MIDDLEWARE,
    "django_prometheus.middleware.PrometheusAfterMiddleware",
]
if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
    # Django's PostgreSQL backend with query, error and connection counters.
    DATABASES["default"]["ENGINE"] = "django_prometheus.db.backends.postgresql"

# LOG_FORMAT=json: one JSON object per line (python-json-logger), tracebacks in the record; the access
# log is then chatproject.logs' (request id, user, status, duration) and Daphne's is off (serve.py).
LOG_FORMAT = env.str("LOG_FORMAT", default="text")
if LOG_FORMAT not in ("text", "json"):
    raise ImproperlyConfigured("LOG_FORMAT must be text or json.")
# dictConfig as Django does, plus Python's warnings routed through the same handler.
LOGGING_CONFIG = "chatproject.logs.configure"
LOGGING = {
    **LOGGING,
    "filters": {"request_id": {"()": "chatproject.logs.RequestIdFilter"}},
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "json": {"()": "chatproject.logs.json_formatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "json" if LOG_FORMAT == "json" else "plain",
            "filters": ["request_id"],
        }
    },
    "loggers": {
        # Text: Daphne's access log has a line per request already; JSON: this one replaces it.
        "chat.access": {"level": "INFO" if LOG_FORMAT == "json" else "WARNING"},
        # JSON: Django's own console handler (DEBUG only) would print errors a second time, as text.
        **({"django": {"handlers": [], "level": "INFO"}} if LOG_FORMAT == "json" else {}),
    },
}
