"""Single-use WebSocket tickets for browsers that cannot send an Authorization header."""

from django.conf import settings
from django.db import models


class WsTicket(models.Model):
    """A short-lived, single-use credential for one WebSocket handshake.

    Only the SHA-256 of the ticket is stored, so a database dump cannot be replayed.
    """

    key_hash = models.CharField(max_length=64, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_at = models.DateTimeField(db_index=True)
    # When the access token that obtained the ticket expires: a socket opened with the ticket closes
    # (4401) then, unless the client sends a fresh token in an `auth` frame, as a bearer socket does.
    access_expires_at = models.DateTimeField()
    # The login session and credentials generation of that access token (accounts.sessions): a ticket
    # of a session a password change ended opens nothing, and its socket belongs to that session.
    session_id = models.CharField(max_length=32, blank=True, default="")
    generation = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"ticket for user {self.user_id} until {self.expires_at:%H:%M:%S}"
