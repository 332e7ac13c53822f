from django.apps import AppConfig


class ActionsConfig(AppConfig):
    name = "actions"

    def ready(self) -> None:
        """Connect the cross-app receivers (a user's deletion erases their history first)."""
        from actions import users

        users.connect_signals()
