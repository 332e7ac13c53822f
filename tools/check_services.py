"""Fail fast, in one line, when the PostgreSQL or Redis that tests need is not reachable."""

import os
import sys
from urllib.parse import urlparse

import psycopg
import redis

HINT = "start them (README, `make test`: pg_ctlcluster <version> main start; redis-server --daemonize yes)"


def main() -> int:
    """Connect to both; print a hint and exit 1 if either is down."""
    db_url = os.environ["DATABASE_URL"]
    redis_url = os.environ["REDIS_URL"]
    parsed = urlparse(db_url)
    # Connect to the maintenance database: the project's own may not exist yet (pytest creates test_*).
    maintenance = parsed._replace(path="/postgres").geturl()
    try:
        psycopg.connect(maintenance, connect_timeout=3).close()
    except psycopg.Error as exc:
        print(
            f"PostgreSQL is not reachable at {parsed.hostname}:{parsed.port}: {exc}; {HINT}", file=sys.stderr
        )
        return 1
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        print(f"Redis is not reachable at {redis_url}: {exc}; {HINT}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
