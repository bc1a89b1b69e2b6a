"""HTTP routes, one module per area; :func:`routes` assembles them in order."""

from __future__ import annotations

from starlette.routing import BaseRoute

from instance.web.routes import (
    account,
    actors,
    board,
    boxes,
    dashboard,
    distributing,
    forms,
    ledger,
    links,
    members,
    notifications,
    oauth,
    objects,
    orgs,
    passkeys,
    planning,
    profile,
    wellknown,
    work,
)

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    return [
        *wellknown.routes,
        *account.routes,
        *passkeys.routes,
        *oauth.routes,
        *dashboard.routes,
        *forms.routes,
        *orgs.routes,
        *distributing.routes,
        *board.routes,
        *links.routes,
        *notifications.routes,
        *profile.routes,
        *work.routes,
        *boxes.routes,
        *objects.routes,
        *actors.routes,
        *members.routes,
        *ledger.routes,
        *planning.routes,
    ]
