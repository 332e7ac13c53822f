"""Scratch database: create, migrate, and seed users, chats, memberships, tokens and a deep chat.

Runs in the orchestrator only, after `django.setup()` against the scratch DATABASE_URL.
Users and chats are bulk-created through the ORM (the models' own defaults and constraints apply);
the deep chat's messages are one INSERT ... SELECT generate_series, by far the fastest way to a
million rows. Ids start high so the pub/sub group names (`chat.<id>`, `user.<id>`; Redis pub/sub
channels ignore the database number) never meet those of a test run on the same Redis.
"""

import subprocess
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

import psycopg

from bench.common import REPO, log

ID_START = 700_000_000


@dataclass
class Seeded:
    """What the scenarios need: ids and access tokens, JSON-serialisable."""

    fanout: list[dict[str, Any]] = field(default_factory=list)  # [{"chat_id", "members": [[uid, token]]}]
    big_room: dict[str, Any] = field(default_factory=dict)
    room200: dict[str, Any] = field(
        default_factory=dict
    )  # the big room's first 200 users, in a room of their own
    idle_tokens: list[str] = field(default_factory=list)
    deep: dict[str, Any] = field(default_factory=dict)


def ensure_database(database_url: str) -> None:
    """Create the scratch database if it does not exist."""
    parsed = urlparse(database_url)
    name = parsed.path.lstrip("/")
    admin = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin, autocommit=True) as conn:
        if conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is None:
            log(f"creating database {name}")
            conn.execute(f'CREATE DATABASE "{name}"')


def migrate(env: dict[str, str]) -> None:
    """`manage.py migrate` against the scratch database (a no-op once migrated)."""
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"], cwd=REPO, env=env, check=True
    )


def _reset(cursor: Any) -> None:
    cursor.execute("DROP TABLE IF EXISTS bench_pairs")
    cursor.execute("TRUNCATE accounts_user, chats_chat CASCADE")
    for table in ("accounts_user", "chats_chat", "chats_chatmember", "messaging_message"):
        cursor.execute(f"ALTER TABLE {table} ALTER COLUMN id RESTART WITH {ID_START}")


def message_extra_sql(database_url: str) -> dict[str, str]:
    """Columns of messaging_message that are NOT NULL without a database default, beyond the ones
    a raw INSERT sets, with the model's Python default (0 for the edit `version` counter)."""
    known = {"id", "chat_id", "sender_id", "seq", "content", "created_at"}
    with psycopg.connect(database_url) as conn:
        rows = conn.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'messaging_message' "
            "AND is_nullable = 'NO' AND column_default IS NULL AND identity_generation IS NULL"
        ).fetchall()
    extra = [r[0] for r in rows if r[0] not in known]
    return {"extra_cols": "".join(f", {c}" for c in extra), "extra_vals": "".join(", 0" for _ in extra)}


def seed(*, idle_sockets: int, big_room: int, deep_messages: int, database_url: str) -> Seeded:
    """Empty the app tables and seed every scenario's data; returns ids and tokens."""
    from django.db import connection, transaction
    from rest_framework_simplejwt.tokens import AccessToken

    from accounts.models import User
    from chats.models import Chat, ChatMember

    started = time.perf_counter()
    with connection.cursor() as cursor:
        _reset(cursor)

    def make_users(prefix: str, n: int) -> list[User]:
        users = [
            User(email=f"{prefix}{i}@bench.example", username=f"{prefix}{i}", password="!")  # noqa: S106
            for i in range(n)
        ]
        return User.objects.bulk_create(users, batch_size=2000)

    def token(user: User) -> str:
        # AccessToken, not RefreshToken: no outstanding-token row per user, and sockets only need access.
        return str(AccessToken.for_user(user))

    def group(name: str, members: list[User]) -> Chat:
        chat = Chat.objects.create(type=Chat.Type.GROUP, name=name, created_by=members[0])
        ChatMember.objects.bulk_create(
            [ChatMember(chat=chat, user=members[0], role=ChatMember.Role.OWNER)]
            + [ChatMember(chat=chat, user=u) for u in members[1:]],
            batch_size=2000,
        )
        return chat

    result = Seeded()
    with transaction.atomic():
        fan_users = make_users("fan", 100)
        for c in range(10):
            members = fan_users[c * 10 : (c + 1) * 10]
            chat = group(f"fanout {c}", members)
            result.fanout.append({"chat_id": chat.pk, "members": [[u.pk, token(u)] for u in members]})
        room_users = make_users("room", big_room)
        room = group("big room", room_users)
        result.big_room = {"chat_id": room.pk, "members": [[u.pk, token(u)] for u in room_users]}
        room200 = group("room of 200", room_users[:200])
        result.room200 = {"chat_id": room200.pk, "members": result.big_room["members"][:200]}
        # Idle users sit in chats of 10, as real users would: each socket joins its user group and one chat.
        idle_users = make_users("idle", idle_sockets)
        chats = Chat.objects.bulk_create(
            [
                Chat(type=Chat.Type.GROUP, name=f"idle {i}", created_by=idle_users[i * 10])
                for i in range((idle_sockets + 9) // 10)
            ]
        )
        ChatMember.objects.bulk_create(
            [ChatMember(chat=chats[i // 10], user=u) for i, u in enumerate(idle_users)], batch_size=5000
        )
        result.idle_tokens = [token(u) for u in idle_users]
        deep_owner = fan_users[0]
        deep = group("deep", [deep_owner, fan_users[1]])
    with connection.cursor() as cursor:
        # One INSERT ... SELECT: ~1M rows in seconds; seq 1..N, one message a second in the past.
        # The formatted parts are column names read from the catalog, never input.
        sql = """
            INSERT INTO messaging_message (chat_id, sender_id, seq, content, created_at{extra_cols})
            SELECT %(chat)s, %(sender)s, g, 'seeded message ' || g, now() - (%(n)s - g) * interval '1 second'
              {extra_vals}
            FROM generate_series(1, %(n)s) AS g
            """.format(**message_extra_sql(database_url))
        cursor.execute(
            sql,
            {"chat": deep.pk, "sender": deep_owner.pk, "n": deep_messages},
        )
        cursor.execute(
            "UPDATE chats_chat SET last_seq = %s, last_message_at = now() WHERE id = %s",
            [deep_messages, deep.pk],
        )
        # pgbench picks a random (chat, member) pair of the fan-out chats from here, as the load does.
        cursor.execute("CREATE TABLE bench_pairs (i int PRIMARY KEY, chat_id bigint, user_id bigint)")
        pairs = [
            (i, c["chat_id"], m[0])
            for i, (c, m) in enumerate((c, m) for c in result.fanout for m in c["members"])
        ]
        cursor.executemany("INSERT INTO bench_pairs VALUES (%s, %s, %s)", pairs)
    result.deep = {"chat_id": deep.pk, "messages": deep_messages, "token": token(deep_owner)}
    log(
        f"seeded {100 + big_room + idle_sockets} users, deep chat of {deep_messages:,} messages "
        f"in {time.perf_counter() - started:.1f}s"
    )
    return result


def vacuum_analyze(database_url: str) -> None:
    """Fresh statistics after seeding, so plans match a settled database."""
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")


def last_seqs(database_url: str, chat_ids: list[int]) -> dict[int, int]:
    """Each chat's last_seq now."""
    with psycopg.connect(database_url) as conn:
        rows = conn.execute("SELECT id, last_seq FROM chats_chat WHERE id = ANY(%s)", [chat_ids]).fetchall()
    return {int(r[0]): int(r[1]) for r in rows}
