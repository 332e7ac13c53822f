"""manage.py cleanup_attachments: delete uploads that no message carries, once they are old enough."""

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from chatproject.conf import chat_settings
from messaging.attachments.services import attachments_cleanup_unsent


class Command(BaseCommand):
    """Delete unsent uploads older than ATTACHMENT_UNSENT_MAX_AGE_HOURS (default 24): rows and stored files."""

    help = "Delete uploaded attachments that no message carries and that are older than the given age."

    def add_arguments(self, parser: CommandParser) -> None:
        """--older-than-hours, default chat_settings.ATTACHMENT_UNSENT_MAX_AGE_HOURS."""
        parser.add_argument(
            "--older-than-hours",
            type=float,
            default=None,
            help="Minimum age in hours (default: ATTACHMENT_UNSENT_MAX_AGE_HOURS, 24).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run the cleanup service and report how many uploads it removed."""
        hours = options["older_than_hours"]
        if hours is None:
            hours = chat_settings.ATTACHMENT_UNSENT_MAX_AGE_HOURS
        deleted = attachments_cleanup_unsent(older_than=timedelta(hours=hours))
        self.stdout.write(f"deleted {deleted} unsent attachment(s) older than {hours:g} h")
