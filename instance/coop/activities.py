"""Importing this module registers the cooperatives' inbox handlers and outbox builders."""

from instance.coop import joining, validation

__all__ = ["joining", "validation"]
