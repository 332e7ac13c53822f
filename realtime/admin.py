"""Realtime has no admin pages: tickets live for seconds."""
