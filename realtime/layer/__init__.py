"""The channel layer and the local fan-out: how a group message reaches this process's sockets.

- `pubsub`: channels-redis's pub/sub layer, each group message decoded once per process and offered to
  the attached sockets before it is queued;
- `ordering`: each chat's new messages put in `seq` order once per process, its recent ones kept;
- `fanout`: one group message's shared work (its frame prepared once, its metrics counted once).
"""
