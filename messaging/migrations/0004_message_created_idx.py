"""Indexes for the message admin: newest-first lists, date ranges, the date hierarchy, deleted messages."""

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0003_message_search_indexes"),
    ]

    operations = [
        migrations.AddIndex(
            model_name="message",
            index=models.Index(fields=["created_at", "id"], name="messaging_message_created_idx"),
        ),
        migrations.AddIndex(
            model_name="message",
            index=models.Index(
                condition=models.Q(("deleted_at__isnull", False)),
                fields=["created_at", "id"],
                name="messaging_message_deleted_idx",
            ),
        ),
    ]
