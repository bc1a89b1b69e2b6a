"""The baseline server: bare Starlette endpoints under uvicorn, as ``oce serve`` runs.

``GET /nodeinfo/2.1`` answers a small JSON document; ``POST /inbox`` reads the body and
answers 202. No database, no signature check: what the web stack alone costs.

    python -m bench.bare PORT
"""

from __future__ import annotations

import sys

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route


async def nodeinfo(_request: Request) -> Response:
    return JSONResponse({"version": "2.1", "software": {"name": "bare"}})


async def inbox(request: Request) -> Response:
    await request.body()
    return Response(status_code=202)


app = Starlette(routes=[Route("/nodeinfo/2.1", nodeinfo), Route("/inbox", inbox, methods=["POST"])])

if __name__ == "__main__":
    uvicorn.run(
        app,
        host="127.0.0.1",
        port=int(sys.argv[1]),
        log_level="warning",
        proxy_headers=True,
        server_header=False,
    )
