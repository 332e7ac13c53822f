"""One open chat socket: its consumer and state, the client's commands, what each layer event does to it,
the ordered delivery of new messages, its frame rates, its credential's clock, and the Redis watchdog."""
