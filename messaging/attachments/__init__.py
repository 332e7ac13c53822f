"""Attachments: uploaded files, sniffed and stored, carried by at most one message (models in messaging.models)."""
