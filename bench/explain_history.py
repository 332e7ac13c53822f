"""EXPLAIN (ANALYZE, BUFFERS) of the history, membership and chat-list queries at 1,000,000 messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat .venv/bin/python bench/explain_history.py

Creates a scratch database next to DATABASE_URL's (`<name>_explain_bench`), migrates it, seeds it with
INSERT ... SELECT generate_series (users, chats, memberships, messages: one hot chat holding half of
them), runs VACUUM ANALYZE, then calls the real selectors, captures the exact SQL they send and prints
its EXPLAIN (ANALYZE, BUFFERS). The scratch database is dropped at the end unless --keep is given.
"""

import argparse
import os
import platform
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import psycopg

REPO = Path(__file__).resolve().parent.parent


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in total")
    parser.add_argument("--hot-share", type=float, default=0.5, help="share of messages in the one hot chat")
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--members-per-chat", type=int, default=10)
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    return parser.parse_args()


def create_scratch_database(base_url: str) -> tuple[str, str]:
    """(admin url, scratch url): a fresh empty database beside the configured one."""
    parsed = urlparse(base_url)
    name = f"{parsed.path.lstrip('/') or 'chat'}_explain_bench"
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url, parsed._replace(path=f"/{name}").geturl()


def drop_database(admin_url: str, scratch_url: str) -> None:
    name = urlparse(scratch_url).path.lstrip("/")
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def timed(label: str, sql: str, params: dict[str, Any] | None = None) -> None:
    from django.db import connection

    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
    print(f"  {label:<38} {time.perf_counter() - started:7.1f} s")


def seed(args: argparse.Namespace) -> None:
    """Users, chats, memberships and messages, written by set-based SQL (seconds, not minutes)."""
    hot = int(args.messages * args.hot_share)
    params = {
        "users": args.users,
        "chats": args.chats,
        "per_chat": args.members_per_chat,
        "hot": hot,
        "rest": args.messages - hot,
        "spread": args.chats - 1,
        "stride": max(args.users // args.members_per_chat, 1),
    }
    print(
        f"seeding {args.messages:,} messages ({hot:,} in the hot chat), {args.chats:,} chats, {args.users:,} users"
    )
    timed(
        "users",
        """INSERT INTO accounts_user (password, email, username, is_active, is_staff, is_superuser, date_joined)
           SELECT '!', 'bench' || g || '@example.com', 'bench' || g, true, false, false, now()
           FROM generate_series(1, %(users)s) g""",
        params,
    )
    timed(
        "chats",
        """INSERT INTO chats_chat (type, name, created_at, last_seq)
           SELECT 'group', 'chat ' || g, now() - interval '400 days', 0 FROM generate_series(1, %(chats)s) g""",
        params,
    )
    # Chat number c (0-based) has users c, c + stride, c + 2*stride, ... (mod users): distinct members.
    timed(
        "memberships",
        """INSERT INTO chats_chatmember (chat_id, user_id, role, joined_at, last_read_seq)
           SELECT f.first_chat + n, u.first_user + (n + k * %(stride)s) %% %(users)s,
                  CASE WHEN k = 0 THEN 'owner' ELSE 'member' END, now() - interval '400 days', 0
           FROM (SELECT min(id) AS first_chat FROM chats_chat) f, (SELECT min(id) AS first_user FROM accounts_user) u,
                generate_series(0, %(chats)s - 1) n, generate_series(0, %(per_chat)s - 1) k""",
        params,
    )
    # The hot chat (the first) holds `hot` messages; the rest go round-robin over the other chats,
    # numbered 1, 2, 3, ... per chat as message_send would. Senders are members of the chat.
    timed(
        "messages: hot chat",
        """INSERT INTO messaging_message (chat_id, sender_id, seq, content, created_at)
           SELECT f.first_chat, u.first_user + (g %% %(per_chat)s) * %(stride)s %% %(users)s, g,
                  'message ' || g || ' ' || md5(g::text), now() - (%(hot)s - g) * interval '1 second'
           FROM (SELECT min(id) AS first_chat FROM chats_chat) f, (SELECT min(id) AS first_user FROM accounts_user) u,
                generate_series(1, %(hot)s) g""",
        params,
    )
    timed(
        "messages: other chats",
        """INSERT INTO messaging_message (chat_id, sender_id, seq, content, created_at)
           SELECT f.first_chat + 1 + g %% %(spread)s,
                  u.first_user + (1 + g %% %(spread)s + (g %% %(per_chat)s) * %(stride)s) %% %(users)s,
                  g / %(spread)s + 1,
                  'message ' || g || ' ' || md5(g::text), now() - (%(rest)s - g) * interval '1 second'
           FROM (SELECT min(id) AS first_chat FROM chats_chat) f, (SELECT min(id) AS first_user FROM accounts_user) u,
                generate_series(0, %(rest)s - 1) g""",
        params,
    )
    timed(
        "chats.last_seq / last_message_at",
        """UPDATE chats_chat c SET last_seq = m.last_seq, last_message_at = m.last_at
           FROM (SELECT chat_id, max(seq) AS last_seq, max(created_at) AS last_at
                 FROM messaging_message GROUP BY chat_id) m
           WHERE c.id = m.chat_id""",
    )
    timed("VACUUM ANALYZE", "VACUUM ANALYZE")


def explain(label: str, run: Callable[[], Any]) -> None:
    """Run a selector, then EXPLAIN (ANALYZE, BUFFERS) each query it sent."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    run()  # warm the cache, as on a live server
    with CaptureQueriesContext(connection) as captured:
        run()
    for number, query in enumerate(captured.captured_queries, start=1):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + query["sql"])
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\n### {label}, query {number} of {len(captured.captured_queries)}\n")
        print(query["sql"])
        print()
        print(plan)


def main() -> int:
    args = parse_args()
    base_url = os.environ.get("DATABASE_URL", "")
    if not base_url.startswith("postgres"):
        print(
            "set DATABASE_URL to a PostgreSQL server (the scratch database is created beside it)",
            file=sys.stderr,
        )
        return 2
    admin_url, scratch_url = create_scratch_database(base_url)
    # Seeding inserts millions of rows in one statement: no statement_timeout (DB_QUERY_TIMEOUT_SECONDS).
    os.environ.update(
        DATABASE_URL=scratch_url,
        DB_POOL_DISABLED="1",
        DB_QUERY_TIMEOUT_SECONDS="0",
        DEBUG=os.environ.get("DEBUG", "1"),
    )
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "chatproject.settings")
    sys.path.insert(0, str(REPO))
    try:
        import django

        django.setup()
        from django.core.management import call_command
        from django.db import connection

        from accounts.models import User
        from chats.inbox import chat_list_for_user
        from chats.models import Chat, ChatMember
        from messaging.selectors import message_history

        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"server: {version}\n")
        call_command("migrate", verbosity=0)
        seed(args)

        hot_chat = Chat.objects.order_by("id").first()
        assert hot_chat is not None
        member = ChatMember.objects.filter(chat=hot_chat).select_related("user").first()
        assert member is not None
        user: User = member.user
        middle = hot_chat.last_seq // 2
        print(f"\nhot chat {hot_chat.pk}: {hot_chat.last_seq:,} messages; reader user {user.pk}")
        print(f"messages in total: {hot_chat.messages.model.objects.count():,}")

        explain("newest page (limit 50)", lambda: message_history(chat_id=hot_chat.pk, user=user, limit=50))
        explain(
            f"keyset page before_seq={middle} (limit 50)",
            lambda: message_history(chat_id=hot_chat.pk, user=user, limit=50, before_seq=middle),
        )
        explain(
            f"keyset page after_seq={middle} (limit 50)",
            lambda: message_history(chat_id=hot_chat.pk, user=user, limit=50, after_seq=middle),
        )
        explain(
            f"for contrast: offset={middle} (limit 50)",
            lambda: message_history(chat_id=hot_chat.pk, user=user, limit=50, offset=middle),
        )
        explain("chat list of the reader", lambda: chat_list_for_user(user=user))
        connection.close()
    finally:
        if args.keep:
            print(f"\nkept {scratch_url}")
        else:
            drop_database(admin_url, scratch_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
