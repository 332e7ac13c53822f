"""EXPLAIN (ANALYZE, BUFFERS) of message search (messaging.selectors.message_search) at 1,000,000 messages.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/chat .venv/bin/python bench/explain_search.py

Creates a scratch database beside DATABASE_URL's (`<name>_search_bench`), migrates it (pg_trgm and the
two GIN indexes included), and seeds it with set-based SQL: 10,000 users, 10,000 group chats of 10
members, 1,000,000 messages (half in one hot chat) of 3 to 10 words drawn from a skewed vocabulary of
50,000 words (100 common English words make up about a fifth of all words; the rest are rarer, down to a
handful of uses). Then it runs the real selector for a set of searches (rare and common words, short
prefixes, infix substrings; across all of a user's chats or one chat; for a member of the hot chat and
for a user of small chats only), captures the exact SQL of each search query and prints its EXPLAIN
(ANALYZE, BUFFERS), then a timing summary. The scratch database is dropped at the end unless --keep is given.
"""

import argparse
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from explain_history import drop_database, timed  # noqa: E402  (a sibling script, not a package)

COMMON_WORDS = [
    "the",
    "be",
    "to",
    "of",
    "and",
    "a",
    "in",
    "that",
    "have",
    "i",
    "it",
    "for",
    "not",
    "on",
    "with",
    "he",
    "as",
    "you",
    "do",
    "at",
    "this",
    "but",
    "his",
    "by",
    "from",
    "they",
    "we",
    "say",
    "her",
    "she",
    "or",
    "an",
    "will",
    "my",
    "one",
    "all",
    "would",
    "there",
    "their",
    "what",
    "so",
    "up",
    "out",
    "if",
    "about",
    "who",
    "get",
    "which",
    "go",
    "me",
    "when",
    "make",
    "can",
    "like",
    "time",
    "no",
    "just",
    "him",
    "know",
    "take",
    "people",
    "into",
    "year",
    "your",
    "good",
    "some",
    "could",
    "them",
    "see",
    "other",
    "than",
    "then",
    "now",
    "look",
    "only",
    "come",
    "its",
    "over",
    "think",
    "also",
    "back",
    "after",
    "use",
    "two",
    "how",
    "our",
    "work",
    "first",
    "well",
    "way",
    "even",
    "new",
    "want",
    "because",
    "any",
    "these",
    "give",
    "day",
    "most",
    "us",
    "is",
    "are",
    "was",
    "were",
    "lunch",
    "meeting",
    "deploy",
    "release",
]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=1_000_000, help="messages in total")
    parser.add_argument("--hot-share", type=float, default=0.5, help="share of messages in the one hot chat")
    parser.add_argument("--chats", type=int, default=10_000)
    parser.add_argument("--users", type=int, default=10_000)
    parser.add_argument("--members-per-chat", type=int, default=10)
    parser.add_argument("--vocabulary", type=int, default=50_000)
    parser.add_argument("--runs", type=int, default=5, help="timed runs per search (median reported)")
    parser.add_argument("--keep", action="store_true", help="keep the scratch database afterwards")
    return parser.parse_args()


def create_scratch_database(base_url: str) -> tuple[str, str]:
    """(admin url, scratch url): a fresh empty database beside the configured one."""
    from urllib.parse import urlparse

    import psycopg

    parsed = urlparse(base_url)
    name = f"{parsed.path.lstrip('/') or 'chat'}_search_bench"
    admin_url = parsed._replace(path="/postgres").geturl()
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return admin_url, parsed._replace(path=f"/{name}").geturl()


def seed(args: argparse.Namespace) -> None:
    """Users, chats, memberships, a vocabulary and messages drawn from it, by set-based SQL."""
    hot = int(args.messages * args.hot_share)
    params: dict[str, Any] = {
        "users": args.users,
        "chats": args.chats,
        "per_chat": args.members_per_chat,
        "hot": hot,
        "rest": args.messages - hot,
        "spread": args.chats - 1,
        "stride": max(args.users // args.members_per_chat, 1),
        "vocabulary": args.vocabulary,
        "common": COMMON_WORDS,
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
        """INSERT INTO chats_chat (type, name, created_at, last_seq, last_version)
           SELECT 'group', 'chat ' || g, now() - interval '400 days', 0, 0 FROM generate_series(1, %(chats)s) g""",
        params,
    )
    timed(
        "memberships",
        """INSERT INTO chats_chatmember (chat_id, user_id, role, joined_at, last_read_seq)
           SELECT f.first_chat + n, u.first_user + (n + k * %(stride)s) %% %(users)s,
                  CASE WHEN k = 0 THEN 'owner' ELSE 'member' END, now() - interval '400 days', 0
           FROM (SELECT min(id) AS first_chat FROM chats_chat) f, (SELECT min(id) AS first_user FROM accounts_user) u,
                generate_series(0, %(chats)s - 1) n, generate_series(0, %(per_chat)s - 1) k""",
        params,
    )
    # Word k of the vocabulary: the common words first, then made-up words (8 letters from md5).
    timed(
        "vocabulary",
        """CREATE TEMP TABLE vocabulary AS
           SELECT k, CASE WHEN k <= cardinality(%(common)s::text[]) THEN (%(common)s::text[])[k]
                          ELSE translate(substr(md5(k::text), 1, 8), '0123456789', 'ghijklmnop') END AS word
           FROM generate_series(1, %(vocabulary)s) k""",
        params,
    )
    timed("vocabulary index", "CREATE UNIQUE INDEX ON vocabulary (k)")
    timed("vocabulary analyze", "ANALYZE vocabulary")
    # Each message: 3 to 10 words; word rank = 1 + floor(V * r^4) for uniform r, so low ranks dominate.
    # (random() in a subquery's select list runs once per word: it is volatile, so never hoisted.)
    body = """(SELECT string_agg((SELECT v.word FROM vocabulary v WHERE v.k = r.k), ' ' ORDER BY r.w)
               FROM (SELECT w, 1 + floor(%(vocabulary)s * power(random(), 4))::int AS k
                     FROM generate_series(1, 3 + (g * 7 + g / 3) %% 8) w) r)"""
    timed(
        "messages: hot chat",
        f"""INSERT INTO messaging_message (chat_id, sender_id, seq, content, created_at, version)
           SELECT f.first_chat, u.first_user + (g %% %(per_chat)s) * %(stride)s %% %(users)s, g,
                  {body}, now() - (%(hot)s - g) * interval '1 second', 0
           FROM (SELECT min(id) AS first_chat FROM chats_chat) f, (SELECT min(id) AS first_user FROM accounts_user) u,
                generate_series(1, %(hot)s) g""",
        params,
    )
    timed(
        "messages: other chats",
        f"""INSERT INTO messaging_message (chat_id, sender_id, seq, content, created_at, version)
           SELECT f.first_chat + 1 + g %% %(spread)s,
                  u.first_user + (1 + g %% %(spread)s + (g %% %(per_chat)s) * %(stride)s) %% %(users)s,
                  g / %(spread)s + 1,
                  {body}, now() - (%(rest)s - g) * interval '1 second', 0
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


def run_search(label: str, runs: int, **kwargs: Any) -> tuple[str, int, float]:
    """Time message_search (median of `runs` after a warm-up), then EXPLAIN ANALYZE each of its search queries.

    The search queries are the recent window (LATERAL), the match among it, and, when that is short of
    a page, the index search below it; the membership check, reactions and attachments are left out.
    """
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from messaging.selectors import message_search

    message_search(**kwargs)  # warm the cache, as on a live server
    durations = []
    for _ in range(runs):
        started = time.perf_counter()
        found = message_search(**kwargs)
        durations.append((time.perf_counter() - started) * 1000)
    with CaptureQueriesContext(connection) as captured:
        message_search(**kwargs)
    queries = [
        q["sql"]
        for q in captured.captured_queries
        if any(mark in q["sql"] for mark in ("LATERAL", "to_tsvector", "LIKE"))
    ]
    print(f"\n### {label}: {len(found)} found, median {statistics.median(durations):.1f} ms")
    for number, sql in enumerate(queries, 1):
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql)
            plan = "\n".join(row[0] for row in cursor.fetchall())
        print(f"\nsearch query {number} of {len(queries)}:\n")
        print(" ".join(sql.split()))
        print()
        print(plan)
    return label, len(found), statistics.median(durations)


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

        from chats.models import Chat, ChatMember
        from messaging.models import Message

        with connection.cursor() as cursor:
            cursor.execute("SELECT version()")
            version = cursor.fetchone()[0]
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}")
        print(f"server: {version}\n")
        started = time.perf_counter()
        call_command("migrate", verbosity=0)
        print(f"  {'migrate (empty tables)':<38} {time.perf_counter() - started:7.1f} s")
        seed(args)

        hot_chat = Chat.objects.order_by("id").first()
        assert hot_chat is not None
        hot_member = ChatMember.objects.filter(chat=hot_chat).select_related("user").first()
        assert hot_member is not None
        hot_user = hot_member.user
        hot_chat_ids = set(ChatMember.objects.filter(chat=hot_chat).values_list("user_id", flat=True))
        small_member = (
            ChatMember.objects.exclude(user_id__in=hot_chat_ids).select_related("user", "chat").first()
        )
        assert small_member is not None
        small_user, small_chat = small_member.user, small_member.chat
        with connection.cursor() as cursor:
            # A word used a few dozen times, and one used once or twice: picked from the data itself.
            cursor.execute(
                """SELECT word FROM (SELECT word, ndoc FROM ts_stat($$SELECT to_tsvector('simple', content)
                   FROM messaging_message WHERE id % 10 = 0$$)) s WHERE ndoc BETWEEN 3 AND 6
                   AND word ~ '^[g-p]{8}$' ORDER BY word LIMIT 1"""
            )
            rare = cursor.fetchone()[0]
        print(
            f"\nhot chat {hot_chat.pk}: {hot_chat.last_seq:,} messages; its member user {hot_user.pk} is in "
            f"{ChatMember.objects.filter(user=hot_user).count()} chats"
        )
        print(
            f"small-chat user {small_user.pk}: {ChatMember.objects.filter(user=small_user).count()} chats, "
            f"{Message.objects.filter(chat__memberships__user=small_user).count():,} messages"
        )
        print(f"messages in total: {Message.objects.count():,}; rare word: {rare!r}")
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT pg_size_pretty(pg_relation_size('messaging_message_fts_idx')), "
                "pg_size_pretty(pg_relation_size('messaging_message_trgm_idx')), "
                "pg_size_pretty(pg_relation_size('messaging_message'))"
            )
            fts_size, trgm_size, table_size = cursor.fetchone()
        print(f"sizes: table {table_size}, full-text index {fts_size}, trigram index {trgm_size}")

        started = time.perf_counter()
        with connection.cursor() as cursor:
            cursor.execute("DROP INDEX messaging_message_fts_idx, messaging_message_trgm_idx")
        from importlib import import_module

        import_module("messaging.migrations.0003_message_search_indexes").create_indexes(
            None, connection.schema_editor()
        )
        print(f"building both search indexes on 1,000,000 rows: {time.perf_counter() - started:.1f} s")
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE messaging_message")

        infix = rare[2:6]
        cases = [
            ("rare word, all chats of a hot-chat member", {"user": hot_user, "q": rare}),
            ("rare word's prefix (5 letters), all chats", {"user": hot_user, "q": rare[:5]}),
            (f"infix substring {infix!r} (4 letters), all chats", {"user": hot_user, "q": infix}),
            ("common word 'lunch', all chats of a hot-chat member", {"user": hot_user, "q": "lunch"}),
            ("very common word 'the', all chats of a hot-chat member", {"user": hot_user, "q": "the"}),
            ("short prefix 'me', all chats of a hot-chat member", {"user": hot_user, "q": "me"}),
            ("two words 'deploy release', all chats", {"user": hot_user, "q": "deploy release"}),
            (
                "common word 'lunch', hot chat only (chat_id)",
                {"user": hot_user, "q": "lunch", "chat_id": hot_chat.pk},
            ),
            ("rare word, hot chat only (chat_id)", {"user": hot_user, "q": rare, "chat_id": hot_chat.pk}),
            ("common word 'lunch', user of small chats only", {"user": small_user, "q": "lunch"}),
            (
                "common word 'lunch', one small chat (chat_id)",
                {"user": small_user, "q": "lunch", "chat_id": small_chat.pk},
            ),
        ]
        results = [run_search(label, args.runs, **kwargs) for label, kwargs in cases]
        print("\n| search | found (limit 50) | median |\n|---|---|---|")
        for label, found, median in results:
            print(f"| {label} | {found} | {median:.1f} ms |")
        connection.close()
    finally:
        if args.keep:
            print(f"\nkept {scratch_url}")
        else:
            drop_database(admin_url, scratch_url)
    return 0


if __name__ == "__main__":
    sys.exit(main())
