"""Search indexes (PostgreSQL only; SQLite searches with a plain scan).

Full-text: a GIN expression index on to_tsvector('simple', content), the exact expression
messaging.selectors.message_search filters on (word and word-prefix matches, any language).
Substrings: pg_trgm and a GIN trigram index on UPPER(content), the expression Django's `icontains`
compiles to on PostgreSQL, so partial words of 3+ characters are found without a table scan.
"""

from django.contrib.postgres.operations import TrigramExtension
from django.db import migrations
from django.db.backends.base.schema import BaseDatabaseSchemaEditor
from django.db.migrations.state import StateApps

FTS_INDEX = "messaging_message_fts_idx"
TRGM_INDEX = "messaging_message_trgm_idx"


def create_indexes(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Create both GIN indexes on PostgreSQL; nothing elsewhere."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {FTS_INDEX} ON messaging_message "
        "USING gin (to_tsvector('simple'::regconfig, content))"
    )
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {TRGM_INDEX} ON messaging_message USING gin (UPPER(content) gin_trgm_ops)"
    )


def drop_indexes(apps: StateApps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    """Drop both indexes on PostgreSQL."""
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {FTS_INDEX}")
    schema_editor.execute(f"DROP INDEX IF EXISTS {TRGM_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0002_message_version_reaction"),
    ]

    operations = [
        TrigramExtension(),
        migrations.RunPython(create_indexes, drop_indexes),
    ]
