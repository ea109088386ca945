"""Personal API tokens: an operator issues (shown once), lists and revokes its own.

A token (``hpu_...``) acts with its owner's role, so a script stops sharing
the admin token; it is stored as its SHA-256, listed by its prefix, and may
expire. These routes answer to a personal token only -- the operator's own
tokens are what they are about; the dashboard's Tokens page and
``hookpost tokens create --user EMAIL`` issue the first one.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from hookpost.web import render
from hookpost.web.deps import OperatorDep, StoreDep
from hookpost.web.schemas import ListOut, TokenCreated, TokenIn, TokenOut

router = APIRouter(prefix="/tokens", tags=["personal tokens"])

DAY = 86400.0


@router.post("", status_code=201, response_model=TokenCreated)
async def create_token(body: TokenIn, store: StoreDep, operator: OperatorDep) -> dict[str, Any]:
    assert operator.operator_id is not None  # OperatorDep
    expires_at = (
        None if body.expires_in_days is None else store.clock.now() + body.expires_in_days * DAY
    )
    row, token = await store.create_operator_token(operator.operator_id, body.name, expires_at)
    return {**render.token(row), "token": token}


@router.get("", response_model=ListOut[TokenOut])
async def list_tokens(store: StoreDep, operator: OperatorDep) -> dict[str, Any]:
    """Your tokens, newest first, revoked ones included."""
    assert operator.operator_id is not None
    rows = await store.list_operator_tokens(operator.operator_id)
    return {"data": [render.token(r) for r in rows], "next_cursor": None}


@router.delete("/{token_id}", response_model=TokenOut)
async def revoke_token(token_id: str, store: StoreDep, operator: OperatorDep) -> dict[str, Any]:
    """Revoke at once (idempotent); another operator's token is 404."""
    assert operator.operator_id is not None
    return render.token(await store.revoke_operator_token(operator.operator_id, token_id))
