"""Where consumers run ORM work."""

import functools
from typing import Any

from channels.db import database_sync_to_async
from django.db import connections


def in_db_thread(func: Any) -> Any:
    """Run ORM work in the thread pool, not Channels' single shared sync thread.

    Each socket awaits its calls in turn, so its own order holds; sockets do not queue behind each
    other's database work. The thread's connection goes back to the pool after every call: pool threads
    are shared by all sockets, and a connection held between calls would starve the pool.
    """

    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        finally:
            connections.close_all()

    return database_sync_to_async(run, thread_sensitive=False)
