"""Inbound activity handlers; importing this package registers them all."""

from instance.handlers import notes, social

__all__ = ["notes", "social"]
