"""The embedded default, SQLite and the in-memory channel layer, tested in every run (tests/embedded)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_the_sqlite_only_branches_pass_on_sqlite(tmp_path):
    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/embedded/sqlite_checks.py"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    # Every check ran: none skipped, none deselected.
    assert " passed" in result.stdout
    assert "skipped" not in result.stdout


@pytest.mark.slow
def test_three_people_chatting_at_once_on_the_embedded_database_get_no_database_is_locked(tmp_path):
    """`make run`'s SQLite under three concurrent users: sends and read markers at once, none a 503
    (SQLite answers "database is locked" to a writer that does not wait for another)."""
    from concurrent.futures import ThreadPoolExecutor

    from realtime.tests.faults import register
    from realtime.tests.live import daphne_server, http

    env = {
        **os.environ,
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "REDIS_URL": "",
        "DEBUG": "0",
    }
    migrated = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
    )
    assert migrated.returncode == 0, migrated.stderr[-2000:]
    with daphne_server("", {"DATABASE_URL": env["DATABASE_URL"], "THROTTLE_SEND": ""}) as server:
        people = [register(server.base, name) for name in ("ann", "bea", "cid")]
        status, chat = http(
            "POST", f"{server.base}/api/chats/group", {"name": "three", "participants": [p.id for p in people[1:]]},
            people[0].token,
        )  # fmt: skip
        assert status in (200, 201), chat

        def chat_away(person) -> list[int]:
            statuses = []
            for n in range(25):
                status, body = http(
                    "POST", f"{server.base}/api/messages/send", {"chat_id": chat["id"], "content": f"m{n}"},
                    person.token,
                )  # fmt: skip
                statuses.append(status)
                if status == 200:
                    status, _ = http(
                        "POST",
                        f"{server.base}/api/chats/{chat['id']}/read",
                        {"seq": body["seq"]},
                        person.token,
                    )
                    statuses.append(status)
            return statuses

        with ThreadPoolExecutor(3) as pool:
            statuses = [s for result in pool.map(chat_away, people) for s in result]

    assert statuses == [200] * 150, sorted(set(statuses))
