"""What Twisted holds unsent for a connection, and dropping it for a client that does not read."""

import logging
from typing import Any

logger = logging.getLogger(__name__)


# How often a held sender looks whether its socket's client took any of the unsent output.
_DRAIN_POLL_SECONDS = 0.05


def unsent_bytes(transport: Any) -> int:
    """Bytes written to a Twisted TCP transport that the kernel has not taken yet (0 if unknown)."""
    buffered = getattr(transport, "dataBuffer", b"")
    return len(buffered) - getattr(transport, "offset", 0) + getattr(transport, "_tempDataLen", 0)


def abort_and_free(transport: Any) -> None:
    """Drop a connection whose client does not read, and the output it held for that client."""
    transport.abortConnection()
    # An aborted transport never writes again; drop what it held now rather than when it is collected.
    if hasattr(transport, "_tempDataBuffer"):
        transport.dataBuffer, transport.offset = b"", 0
        transport._tempDataBuffer, transport._tempDataLen = [], 0
