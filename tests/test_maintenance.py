"""manage.py run_maintenance: each scheduled job does its work, is idempotent, and yields to a runner holding its lock."""

import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import psycopg
import pytest
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken
from rest_framework_simplejwt.tokens import RefreshToken

from accounts.sessions import Session
from chatproject import maintenance
from messaging.attachments import services as attachment_services
from messaging.models import Attachment
from realtime.models import WsTicket
from realtime.tests.live import database_url
from realtime.tickets import ws_ticket_issue

REPO = Path(__file__).resolve().parent.parent
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"

pytestmark = pytest.mark.django_db


def run_once(*args: str) -> list[str]:
    """One round of the command; its output lines."""
    out = io.StringIO()
    call_command("run_maintenance", "--once", *args, stdout=out)
    return out.getvalue().splitlines()


def old_upload(user: Any, hours: float = 48) -> Attachment:
    upload = attachment_services.attachment_upload(uploader=user, file=SimpleUploadedFile("p.png", PNG))
    Attachment.objects.filter(pk=upload.pk).update(created_at=timezone.now() - timedelta(hours=hours))
    return upload


def expired_refresh_token(user: Any, *, blacklisted: bool) -> OutstandingToken:
    RefreshToken.for_user(user)
    token = OutstandingToken.objects.filter(user=user).latest("id")
    OutstandingToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    if blacklisted:
        BlacklistedToken.objects.create(token=token)
    return token


def ticket(user: Any, *, expired: bool) -> WsTicket:
    ws_ticket_issue(
        user=user, access_expires_at=timezone.now() + timedelta(minutes=5), session=Session("", 0)
    )
    row = WsTicket.objects.latest("id")
    if expired:
        WsTicket.objects.filter(pk=row.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    return row


@pytest.fixture
def other_runner() -> Any:
    """A second database session, as another maintenance runner would hold."""
    params = connection.get_connection_params()
    params.pop("cursor_factory", None)
    params.pop("context", None)
    with psycopg.connect(**params, autocommit=True) as conn:
        yield conn


def test_one_round_runs_every_job_and_keeps_what_is_still_valid(
    user, settings, django_capture_on_commit_callbacks, chat_overrides
):
    chat_overrides.ATTACHMENT_UNSENT_MAX_AGE_HOURS = 24
    stale, young = old_upload(user, hours=25), old_upload(user, hours=1)
    expired_refresh_token(user, blacklisted=True)
    expired_refresh_token(user, blacklisted=False)
    RefreshToken.for_user(user)
    # Issuing a ticket sweeps the expired ones: the live one first.
    live_ticket = ticket(user, expired=False)
    ticket(user, expired=True)

    with django_capture_on_commit_callbacks(execute=True):
        lines = run_once()

    # In INSTALLED_APPS order, the order the apps registered their jobs.
    assert lines == [
        "tokens: deleted 2 expired token(s)",
        "attachments: deleted 1 unsent attachment(s)",
        "tickets: deleted 1 expired ticket(s)",
    ]
    assert list(Attachment.objects.values_list("pk", flat=True)) == [young.pk]
    assert not default_storage.exists(stale.file.name)
    assert OutstandingToken.objects.count() == 1
    assert not BlacklistedToken.objects.exists()
    assert list(WsTicket.objects.values_list("pk", flat=True)) == [live_ticket.pk]


def test_a_second_round_finds_nothing_left_to_do(user):
    old_upload(user)
    expired_refresh_token(user, blacklisted=True)
    ticket(user, expired=True)
    run_once()

    assert run_once() == [
        "tokens: deleted 0 expired token(s)",
        "attachments: deleted 0 unsent attachment(s)",
        "tickets: deleted 0 expired ticket(s)",
    ]


def test_job_whose_lock_another_runner_holds_is_skipped_and_runs_once_it_is_released(user, other_runner):
    ticket(user, expired=True)
    key = maintenance.lock_key("tickets")
    other_runner.execute("SELECT pg_advisory_lock(%s)", [key])

    assert run_once("--job", "tickets") == ["tickets: skipped: another runner holds its lock"]
    assert WsTicket.objects.count() == 1

    other_runner.execute("SELECT pg_advisory_unlock(%s)", [key])
    assert run_once("--job", "tickets") == ["tickets: deleted 1 expired ticket(s)"]


def test_a_runner_releases_each_lock_after_its_job(user, other_runner):
    run_once()

    for job in maintenance.JOBS:
        (taken,) = other_runner.execute(
            "SELECT pg_try_advisory_lock(%s)", [maintenance.lock_key(job.name)]
        ).fetchone()
        assert taken, job.name


def test_lock_keys_are_distinct_signed_64_bit_integers():
    keys = {maintenance.lock_key(job.name) for job in maintenance.JOBS}
    assert len(keys) == len(maintenance.JOBS)
    assert all(-(2**63) <= key < 2**63 for key in keys)


def test_a_failing_job_fails_the_round_after_the_others_ran(user, monkeypatch):
    def broken() -> str:
        raise RuntimeError("disk on fire")

    jobs = [
        maintenance.Job(job.name, broken) if job.name == "attachments" else job for job in maintenance.JOBS
    ]
    monkeypatch.setattr("messaging.management.commands.run_maintenance.JOBS", jobs)
    ticket(user, expired=True)
    out = io.StringIO()

    with pytest.raises(CommandError, match="a maintenance job failed"):
        call_command("run_maintenance", "--once", stdout=out)

    assert "attachments: failed (see the log)" in out.getvalue().splitlines()
    assert not WsTicket.objects.exists()


def test_the_loop_runs_rounds_until_sigterm_then_exits_cleanly(db, tmp_path):
    # A real process on the test database, as the compose `maintenance` service runs it.
    env = {**os.environ, "DATABASE_URL": database_url(), "DEBUG": "0", "PYTHONUNBUFFERED": "1"}
    command = [sys.executable, "manage.py", "run_maintenance", "--interval", "0.2"]
    output = tmp_path / "out.log"
    rounds = 2 * len(maintenance.JOBS)
    with output.open("w") as out:
        process = subprocess.Popen(command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while len(output.read_text().splitlines()) < rounds and process.poll() is None:
            assert time.monotonic() < deadline, output.read_text()
            time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0, output.read_text()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    lines = output.read_text().splitlines()
    assert [line.split(":")[0] for line in lines[:rounds]] == [job.name for job in maintenance.JOBS] * 2
