"""Scheduled maintenance: the periodic jobs `manage.py run_maintenance` runs, each under a lock.

Each app registers its own jobs from its AppConfig.ready() (`register()`), so this module knows no app:
accounts expired tokens, messaging unsent attachments, realtime expired WebSocket tickets.

Every job is idempotent (running it twice, or after a crash halfway, is harmless) and takes a
PostgreSQL advisory lock for its run, so several maintenance runners never do the same work at once:
a runner that finds a job's lock held skips that job until its next round. Stale presence entries need
no job here: reads compare expiries with Redis's clock, per-socket keys expire by themselves, and every
web process's heartbeat sweeps the index (realtime.presence).
"""

import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from django.db import connection

logger = logging.getLogger(__name__)

# High 32 bits of every advisory lock key this module takes, so they cannot collide with another user's.
LOCK_NAMESPACE = 0x43484154  # "CHAT"


@dataclass(frozen=True)
class Job:
    """One periodic job: a name (for logs and its lock) and a function returning what it did."""

    name: str
    run: Callable[[], str]


# Every registered job, in the order the apps registered them (INSTALLED_APPS order).
JOBS: list[Job] = []


def register(name: str, run: Callable[[], str]) -> None:
    """Add a job (from an AppConfig.ready()); `run` does one round and says what it did. Once per name."""
    if any(job.name == name for job in JOBS):
        return
    JOBS.append(Job(name, run))


def lock_key(name: str) -> int:
    """The advisory lock key of job `name`: a signed 64-bit integer, stable across processes."""
    key = (LOCK_NAMESPACE << 32) | zlib.crc32(name.encode())
    return key - (1 << 64) if key >= 1 << 63 else key


@contextmanager
def job_lock(name: str) -> Iterator[bool]:
    """Hold job `name`'s lock for the block if no other runner does; yields whether it was taken.

    A session-level PostgreSQL advisory lock, released at the end (or by PostgreSQL if the runner dies).
    SQLite (the embedded single-machine mode) has no such lock: there the jobs rely on being idempotent.
    """
    if connection.vendor != "postgresql":
        yield True
        return
    key = lock_key(name)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        (taken,) = cursor.fetchone()
    try:
        yield taken
    finally:
        if taken:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [key])


def run_job(job: Job) -> tuple[str, bool]:
    """Run `job` unless another runner holds its lock: (what happened, whether it failed)."""
    try:
        with job_lock(job.name) as taken:
            if not taken:
                return "skipped: another runner holds its lock", False
            return job.run(), False
    except Exception:
        logger.exception("maintenance job %s failed", job.name)
        return "failed (see the log)", True
