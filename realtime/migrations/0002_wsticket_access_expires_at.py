import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("realtime", "0001_initial"),
    ]

    operations = [
        # Tickets live WS_TICKET_SECONDS (30 s): those issued before this migration, if any are still
        # unspent, open a socket that expires at once (4401) and the client reconnects.
        migrations.AddField(
            model_name="wsticket",
            name="access_expires_at",
            field=models.DateTimeField(default=django.utils.timezone.now),
            preserve_default=False,
        ),
    ]
