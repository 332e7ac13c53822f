"""Every patch of the server stack (Daphne, Twisted, autobahn) and the Redis cache backend, in one place.

`chatproject.asgi` calls `installer.install()` once, before Daphne builds its factories, so the patches
hold under plain `daphne chatproject.asgi:application` as under `make run`:

- `http`: request bodies refused with the API's 413 JSON as soon as their Content-Length (or, chunked,
  what arrived) is over the route's limit; Twisted's multipart parse (whole, in memory, for
  `request.args`, which Daphne never reads) turned off; Twisted's own 400 and Daphne's error pages in
  JSON; streamed responses (downloads) held while more than HTTP_MAX_BUFFERED_BYTES waits unsent, and
  dropped after HTTP_DRAIN_TIMEOUT_SECONDS.
- `websocket`: frames over WS_MAX_FRAME_BYTES refused by autobahn before they are buffered, with 1009
  (not a dropped connection); a socket whose unsent output is over WS_MAX_BUFFERED_BYTES holds its
  sender until its client drains it, and is closed with 1008 and aborted after WS_DRAIN_TIMEOUT_SECONDS.
- `buffers`: what Twisted holds unsent for a connection, and dropping a client that does not read.
- `close_codes`: autobahn lets an application close with 1008, 1009, 1011, 1012 and 1013.
- `wire`: the `chat.wire` scope extension, a frame prepared once and written to many sockets.
- `graceful`: SIGTERM drains (stop listening, the apps' hooks, 1012, requests answered) before Daphne
  cancels what is left.
- `cache`: Django's Redis cache with one connection pool per process (named in settings, not installed).
"""
