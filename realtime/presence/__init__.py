"""Who is online: a user is online while at least one of their sockets is open, in any process.

The books are realtime.registry's (one record per open socket, which also decides the per-user cap);
this package is the policy on top of them:

- service: a socket opened or closed, and the fan-out policy that announces a change as a `presence`
  event;
- selectors: the read REST uses (which users are online); the only part domain apps import.
"""
