"""What an operator watches: Prometheus metrics at /metrics and the log format (JSON with request ids)."""

from django.core.exceptions import ImproperlyConfigured

from .base import INSTALLED_APPS, LOGGING, MIDDLEWARE, SECURE_REDIRECT_EXEMPT, env
from .data import DATABASES

# Prometheus metrics at /metrics (chatproject.metrics_view): ours (chatproject.metrics) and
# django-prometheus's for requests and the database. Only from these networks, or with
# `Authorization: Bearer <METRICS_TOKEN>`; anyone else gets the JSON 404 of an unknown URL. Behind a
# proxy the address is the client's only with Daphne's --proxy-headers (compose) or NUM_PROXIES.
METRICS_ALLOWED_CIDRS: list[str] = env.list("METRICS_ALLOWED_CIDRS", default=["127.0.0.0/8", "::1/128"])
METRICS_TOKEN = env.str("METRICS_TOKEN", default="")
# Scrapers come over plain HTTP, from inside the deployment.
SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]
INSTALLED_APPS = [*INSTALLED_APPS, "django_prometheus"]
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
