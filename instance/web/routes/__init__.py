"""HTTP routes, one module per area; :func:`routes` assembles them in order."""

from __future__ import annotations

from starlette.routing import BaseRoute

from instance.web.routes import actors, boxes, ledger, objects, planning, wellknown

__all__ = ["routes"]


def routes() -> list[BaseRoute]:
    return [
        *wellknown.routes,
        *boxes.routes,
        *objects.routes,
        *actors.routes,
        *ledger.routes,
        *planning.routes,
    ]
