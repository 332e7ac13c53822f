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
- `body_limits`: the per-route body limits apps register (messaging: the upload route).
- `debug_logs`: autobahn's debug-log arguments computed only when a debug line is written.
- `check`: run first by `install()`, it fails loudly when a name below is missing or a library is
  outside its tested release series (`check.TESTED_SERIES`: the minor series requirements.in pins).

The layer subclass in `realtime/layer/` leans on channels-redis the same way; its names are checked here
too, so one list shows what an upgrade may break. Every library internal the patches touch, and why
(tests/test_server_patches.py keeps this table and `check.INTERNALS` the same):

| library | owner | name | why |
|---|---|---|---|
| Twisted | `twisted.web.http.HTTPChannel` | `_respondToBadRequestAndDisconnect` | replaced: Twisted's own 400 (a bad request line, NUL in a header) answers JSON (`http`) |
| Twisted | `twisted.web.http.HTTPChannel` | `_path` | read in `gotLength`: the request's target, before Daphne has the request (`http`, per-route limit) |
| Twisted | `twisted.web.http.Request` | `_parsePOSTFormSubmission` | turned off: Twisted would parse a whole multipart body in memory for `request.args` (`http`) |
| Twisted | `twisted.web.http.Request` | `gotLength` | wrapped: a Content-Length over the route's limit is refused before the body is read (`http`) |
| Twisted | `twisted.web.http.Request` | `handleContentChunk` | wrapped: a body is counted as it arrives and refused at the first byte over (`http`) |
| Twisted | `twisted.web.http.Request` | `requestReceived` | wrapped: a refused request never reaches the app (`http`) |
| Twisted | `twisted.internet.abstract.FileDescriptor` | `dataBuffer` | read and cleared: output written but unsent, for backpressure (`buffers`) |
| Twisted | `twisted.internet.abstract.FileDescriptor` | `offset` | read and cleared: how much of `dataBuffer` is already sent (`buffers`) |
| Twisted | `twisted.internet.abstract.FileDescriptor` | `_tempDataBuffer` | cleared when a client that does not read is dropped (`buffers`) |
| Twisted | `twisted.internet.abstract.FileDescriptor` | `_tempDataLen` | read: output queued in front of `dataBuffer`; without it backpressure reads 0 (`buffers`) |
| Twisted | `twisted.internet.tcp.Connection` | `writeSomeData` | called: a prepared frame goes to the kernel at once when nothing is queued (`wire`) |
| Twisted | `twisted.internet.tcp.Connection` | `TLS` | read: a TLS transport is written only through `write()`, which encrypts (`wire`) |
| daphne | `daphne.server.Server` | `handle_reply` | wrapped: a sender waits while its client does not read (`websocket`, `http`) |
| daphne | `daphne.server.Server` | `create_application` | wrapped: a WebSocket scope gets the `chat.wire` extension (`wire`) |
| daphne | `daphne.server.Server` | `listen_success` | wrapped: the listening ports are kept, to stop listening first on SIGTERM (`graceful`) |
| daphne | `daphne.server.Server` | `kill_all_applications` | wrapped: drain before Daphne cancels every application (`graceful`) |
| daphne | `daphne.server.Server` | `connections` | read: the protocols still open at shutdown (`graceful`) |
| daphne | `daphne.http_protocol.WebRequest` | `basic_error` | replaced: Daphne's own error pages answer JSON (`http`) |
| daphne | `daphne.http_protocol.WebRequest` | `client_addr` | read: the client named in the log of a dropped download (`http`) |
| daphne | `daphne.ws_protocol.WebSocketProtocol` | `client_addr` | read: the client named in the log of a socket closed for not reading (`websocket`) |
| daphne | `daphne.ws_protocol.WebSocketFactory` | `setProtocolOptions` | wrapped: frames capped, failures closed with 1009, patient close handshakes (`websocket`) |
| autobahn | `autobahn.websocket.protocol.WebSocketProtocol` | `sendClose` | replaced: closes with 1008-1013 are let through (`close_codes`) |
| autobahn | `autobahn.websocket.protocol.WebSocketProtocol` | `sendCloseFrame` | called: a close with a code `sendClose` refuses (`close_codes`, `websocket`, `graceful`) |
| autobahn | `autobahn.websocket.protocol.WebSocketProtocol` | `send_queue` | read: a prepared frame never overtakes autobahn's own queue (`wire`) |
| autobahn | `autobahn.websocket.protocol.WebSocketProtocol` | `_perMessageCompress` | read: a compressing socket gets no prepared (uncompressed) frame (`wire`) |
| autobahn | `autobahn.websocket.protocol.WebSocketProtocol` | `trafficStats` | read and counted: the socket's traffic, as autobahn keeps it (`wire`) |
| autobahn | `autobahn.websocket.protocol.TrafficStats` | `incomingWebSocketMessages` | read: whether the client's first frame was read (`wire`) |
| autobahn | `autobahn.websocket.protocol.TrafficStats` | `outgoingOctetsWireLevel` | counted: the bytes a prepared frame wrote (`wire`) |
| autobahn | `autobahn.websocket.protocol.PreparedMessage` | `payloadHybi` | read: the prepared frame's bytes (`wire`) |
| autobahn | `autobahn.websocket.protocol` | `pformat` | replaced: deferred, a debug log argument only (`debug_logs`) |
| autobahn | `autobahn.websocket.protocol` | `hltype` | replaced: deferred, a debug log argument only (`debug_logs`) |
| autobahn | `autobahn.websocket.protocol` | `hlval` | replaced: deferred, a debug log argument only (`debug_logs`) |
| autobahn | `autobahn.websocket.protocol.Timings` | `_timings` | read: `Timings.__str__` pretty-prints it as autobahn's did (`debug_logs`) |
| autobahn | `autobahn.twisted.websocket` | `hltype` | replaced: deferred, a debug log argument only (`debug_logs`) |
| autobahn | `autobahn.twisted.websocket` | `hlval` | replaced: deferred, a debug log argument only (`debug_logs`) |
| channels-redis | `channels_redis.pubsub` | `RedisSingleShardConnection` | subclassed: a shard that decodes each group message once (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub` | `_wrap_close` | called: a loop layer closes with its event loop, as channels-redis's own (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisSingleShardConnection` | `_receive_message` | overridden: decode once, order, fan out locally (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisSingleShardConnection` | `host` | read: the stock shards' hosts, for ours (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisSingleShardConnection` | `channel_layer` | read: the loop layer a shard delivers to (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubLoopLayer` | `_shards` | replaced: the stock shards by decode-once ones (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubLoopLayer` | `channels` | read: each local channel's queue (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubLoopLayer` | `groups` | read: each group's local channels (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubLoopLayer` | `_get_group_channel_name` | called: a group's pub/sub channel, to notice the first local member (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubLoopLayer` | `group_add` | overridden: a chat group the process begins to listen to gets its tail read once (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubLoopLayer` | `channel_layer` | read: the process's layer, which holds the attached sockets (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubChannelLayer` | `_get_layer` | overridden: one decode-once loop layer per event loop (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubChannelLayer` | `_layers` | read and filled: the loop layers by event loop (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubChannelLayer` | `_args` | read: the layer's arguments, passed on to each loop layer (`realtime.layer.pubsub`) |
| channels-redis | `channels_redis.pubsub.RedisPubSubChannelLayer` | `_kwargs` | read: the same, by keyword (`realtime.layer.pubsub`) |
| Django | `django.core.cache.backends.redis.RedisCache` | `_cache` | overridden: one client, and so one pool, per configuration per process (`cache`) |
| Django | `django.core.cache.backends.redis.RedisCache` | `_servers` | read: the configuration's key and the client's servers (`cache`) |
| Django | `django.core.cache.backends.redis.RedisCache` | `_options` | read: the same, its options (`cache`) |
| Django | `django.core.cache.backends.redis.RedisCache` | `_class` | called: the client class Django would build (`cache`) |

The patches also set attributes of their own on these objects: `_body_limit`, `_body_received`,
`_body_refused` and `_body_too_large` on Twisted's Request, `_graceful_ports` on Daphne's Server.
"""
