"""A psycopg connection whose every wait for the server is bounded.

`statement_timeout` is enforced by the server, so a server that cannot answer at all (paused, its
host unreachable) would hold a request, its thread and its pooled connection for the whole outage.
Here each wait on the server (a query, a commit, the pool's reset) gives up after
DB_QUERY_TIMEOUT_SECONDS plus a margin, closes the connection (its protocol state is unknown, so
the pool discards it) and raises OperationalError, which the API answers with 503.
"""

from typing import Any

import psycopg
from django.conf import settings
from psycopg import errors

# The server's own statement_timeout fires first, with a proper error, when the server is alive.
_MARGIN_SECONDS = 1.0


class DatabaseNotAnsweringError(psycopg.OperationalError):
    """The server did not answer within the bound; the connection has been closed."""


class BoundedWaitConnection(psycopg.Connection[Any]):
    """psycopg.Connection with a deadline on every wait for the server."""

    def wait(self, gen: Any, interval: float = 0.1, timeout: float | None = None) -> Any:
        """Consume `gen` as psycopg does, but fail after DB_QUERY_TIMEOUT_SECONDS (+ margin)."""
        if timeout is None:
            bound = settings.DB_QUERY_TIMEOUT_SECONDS
            timeout = bound + _MARGIN_SECONDS if bound > 0 else None
        try:
            return super().wait(gen, interval=interval, timeout=timeout)
        except errors._WaitTimeout:
            # Mid-protocol: the connection cannot be reused. Closing it only writes a Terminate message
            # into the kernel's buffer, so it does not block on the silent server.
            self.close()
            raise DatabaseNotAnsweringError(
                f"the database did not answer within {timeout:.1f} s; connection closed"
            ) from None
