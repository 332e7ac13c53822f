"""Opening a socket: the credential (JWT or ticket) that names its user, the `Origin` check, and the
admission that answers every handshake, with 1013 during an outage or a storm."""
