"""WebSocket tickets: issued by `POST /api/ws/ticket`, spent by one handshake, swept when expired."""

import hashlib
import secrets
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.sessions import Session, session_is_current
from chatproject.conf import chat_settings
from realtime.models import WsTicket


def _hash(ticket: str) -> str:
    return hashlib.sha256(ticket.encode()).hexdigest()


@transaction.atomic
def ws_ticket_issue(*, user: User, access_expires_at: datetime, session: Session) -> str:
    """Create a ticket valid for WS_TICKET_SECONDS and one handshake; expired tickets are swept.

    `access_expires_at` and `session` are those of the access token that asked for it: the socket's own.
    """
    WsTicket.objects.filter(expires_at__lt=timezone.now()).delete()
    ticket = secrets.token_urlsafe(32)
    WsTicket.objects.create(
        key_hash=_hash(ticket),
        user=user,
        expires_at=timezone.now() + timedelta(seconds=chat_settings.WS_TICKET_SECONDS),
        access_expires_at=access_expires_at,
        session_id=session.id,
        generation=session.generation,
    )
    return ticket


@transaction.atomic
def ws_ticket_consume(*, ticket: str) -> tuple[User, datetime, Session] | None:
    """Spend a ticket: (its active user, when the socket's credential expires, its session), or None if
    unknown, expired, already used, the user is inactive or a password change ended its session.

    The DELETE decides: of two handshakes racing with one ticket, only the one that deletes the row wins.
    """
    row = WsTicket.objects.select_related("user").filter(key_hash=_hash(ticket)).first()
    if row is None:
        return None
    deleted, _ = WsTicket.objects.filter(pk=row.pk).delete()
    if deleted != 1 or row.expires_at <= timezone.now() or not row.user.is_active:
        return None
    session = Session(id=row.session_id, generation=row.generation)
    if not session_is_current(user=row.user, session=session):
        return None
    return row.user, row.access_expires_at, session


@transaction.atomic
def ws_tickets_delete_expired() -> int:
    """Delete the tickets past their expiry (used or not); returns how many. Idempotent."""
    deleted, _ = WsTicket.objects.filter(expires_at__lt=timezone.now()).delete()
    return deleted
