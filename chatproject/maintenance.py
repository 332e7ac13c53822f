"""Scheduled maintenance: the periodic jobs `manage.py run_maintenance` runs, each under a lock.

Every job is idempotent (running it twice, or after a crash halfway, is harmless) and takes a
PostgreSQL advisory lock for its run, so several maintenance runners never do the same work at once:
a runner that finds a job's lock held skips that job until its next round. Stale presence entries need
no job here: reads compare expiries with Redis's clock, per-socket keys expire by themselves, and every
web process's heartbeat sweeps the index (realtime.presence).
"""

import io
import logging
import zlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.core.management import call_command
from django.db import connection
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken

from chatproject.conf import chat_settings
from messaging.attachments.services import attachments_cleanup_unsent
from realtime.services import ws_tickets_delete_expired

logger = logging.getLogger(__name__)

# High 32 bits of every advisory lock key this module takes, so they cannot collide with another user's.
LOCK_NAMESPACE = 0x43484154  # "CHAT"


@dataclass(frozen=True)
class Job:
    """One periodic job: a name (for logs and its lock) and a function returning what it did."""

    name: str
    run: Callable[[], str]


def cleanup_attachments() -> str:
    """Delete uploads no message carries, older than ATTACHMENT_UNSENT_MAX_AGE_HOURS."""
    hours = chat_settings.ATTACHMENT_UNSENT_MAX_AGE_HOURS
    return f"deleted {attachments_cleanup_unsent(older_than=timedelta(hours=hours))} unsent attachment(s)"


def flush_expired_tokens() -> str:
    """simplejwt's flushexpiredtokens: outstanding tokens past expiry, and their blacklist rows."""
    before = OutstandingToken.objects.count()
    call_command("flushexpiredtokens", stdout=io.StringIO())
    return f"deleted {before - OutstandingToken.objects.count()} expired token(s)"


def delete_expired_tickets() -> str:
    """WebSocket tickets past their expiry, used or not."""
    return f"deleted {ws_tickets_delete_expired()} expired ticket(s)"


JOBS = (
    Job("attachments", cleanup_attachments),
    Job("tokens", flush_expired_tokens),
    Job("tickets", delete_expired_tickets),
)


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
