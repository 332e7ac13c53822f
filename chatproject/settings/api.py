"""Authentication, JWT, Django REST framework, the OpenAPI schema and CORS."""

import re
from datetime import timedelta

from django.core.exceptions import ImproperlyConfigured

from chatproject.conf import RATE_PATTERN

from .base import SECRET_KEY, env

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
if THROTTLE_SEND and not re.fullmatch(RATE_PATTERN, THROTTLE_SEND):
    raise ImproperlyConfigured("THROTTLE_SEND must look like 120/min (or be empty for no budget).")

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["accounts.authentication.ActiveUserJWTAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["chatproject.renderers.FastJSONRenderer"],
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
        # Per user: POST /api/password attempts (a wrong old password counts too).
        "password": env.str("THROTTLE_PASSWORD", default="5/min"),
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
        # 413 on every operation with a body: the server answers it before any view (chatproject.server).
        "chatproject.schema.add_too_large_responses",
    ],
    # Served from drf-spectacular-sidecar's static files: the docs work offline and load no CDN script.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- CORS (django-cors-headers) -------------------------------------------------------------
# Full origins (`https://app.example.com`) whose pages may call the REST API from a browser; none by
# default. The WebSocket Origin check accepts them too (realtime.handshake.origin).
CORS_ALLOWED_ORIGINS: list[str] = env.list("CORS_ALLOWED_ORIGINS", default=[])
# Only the API: the admin, the docs and the web client stay same-origin.
CORS_URLS_REGEX = r"^/api/.*$"
# Bearer tokens, not cookies: no credentials. Authorization for the token, Content-Type for JSON bodies.
CORS_ALLOW_CREDENTIALS = False
CORS_ALLOW_HEADERS = ["authorization", "content-type"]
CORS_ALLOW_METHODS = ["GET", "POST", "PATCH", "DELETE"]
# Clients read these from cross-origin answers: throttling's Retry-After (429 and 503).
CORS_EXPOSE_HEADERS = ["Retry-After"]


# Whole-request body limit for JSON APIs; far above any valid message. Daphne refuses a larger body
# before reading it (chatproject.server); Django's own check stays for other servers.
DATA_UPLOAD_MAX_MEMORY_SIZE = env.int("DATA_UPLOAD_MAX_MEMORY_SIZE", default=256 * 1024)
