from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("messaging", "0005_attachment"),
    ]

    operations = [
        migrations.AddField(
            model_name="message",
            name="has_attachments",
            field=models.BooleanField(db_default=False, default=False),
        ),
        # Messages sent with attachments before the flag existed.
        migrations.RunSQL(
            "UPDATE messaging_message SET has_attachments = TRUE WHERE id IN "
            "(SELECT message_id FROM messaging_attachment WHERE message_id IS NOT NULL)",
            reverse_sql=migrations.RunSQL.noop,
        ),
    ]
