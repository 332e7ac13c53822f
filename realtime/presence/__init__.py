"""Who is online: a user is online while at least one of their sockets is open, in any process.

- store: where open sockets are counted (Redis across processes, or this process's memory) and the
  Lua scripts that decide every online/offline transition;
- service: a socket opened or closed, this process's heartbeat, and the fan-out policy that announces
  a change as a `presence` event;
- selectors: the read REST uses (which users are online); the only part domain apps import.
"""
