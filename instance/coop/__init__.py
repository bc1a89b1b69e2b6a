"""Cooperatives: memberships and roles, validated work, value equations and the
distributions that share an organization's income (docs/cooperatives.md)."""
