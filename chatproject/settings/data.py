"""Where state lives: PostgreSQL (SQLite embedded), Redis for the channel layer and the cache."""

from .base import BASE_DIR, env

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
    # The embedded SQLite of `make run`, for a few people chatting at once. WAL: readers do not block
    # the writer nor it them. IMMEDIATE: a transaction takes the write lock when it begins, so a second
    # writer waits out `timeout` for it; a deferred one that read first and then wrote was refused at
    # once with "database is locked" (a 503), whatever the timeout.
    DATABASES["default"].setdefault("OPTIONS", {})
    DATABASES["default"]["OPTIONS"].setdefault("timeout", 20)
    DATABASES["default"]["OPTIONS"].setdefault("transaction_mode", "IMMEDIATE")
    DATABASES["default"]["OPTIONS"].setdefault(
        "init_command", "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
    )

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
                # channels-redis's pub/sub layer, decoding a group message once per process (realtime.layer.pubsub).
                "BACKEND": "realtime.layer.pubsub.DecodeOncePubSubChannelLayer",
                "CONFIG": {"hosts": [REDIS_URL]},
            }
        }
    # Throttle counters live here, so limits hold across several Daphne processes. The socket
    # timeouts bound what a hung Redis costs a request; an unreachable cache is a 503 (chatproject.api).
    CACHES = {
        "default": {
            "BACKEND": "chatproject.server.cache.SharedPoolRedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "chat",
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
