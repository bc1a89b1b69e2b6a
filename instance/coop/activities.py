"""Importing this module registers the cooperatives' inbox handlers and outbox builders."""

from instance.coop import defining, joining, validation

__all__ = ["defining", "joining", "validation"]
