from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import text

router = APIRouter(tags=["system"])


@router.get("/healthz")
async def healthz(request: Request) -> Any:
    """200 when the database answers; 503 otherwise."""
    try:
        async with request.app.state.store.engine.connect() as conn:
            await conn.execute(text("SELECT 1"))
    except Exception:
        return JSONResponse({"status": "unavailable", "database": "unreachable"}, status_code=503)
    dispatcher = getattr(request.app.state, "dispatcher", None)
    return {"status": "ok", "database": "ok", "workers": dispatcher is not None}


@router.get("/metrics", include_in_schema=False)
async def prometheus() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
