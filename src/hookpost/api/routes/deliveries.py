"""Deliveries: list and read them (with every attempt), and resend one now.

Resending is :func:`hookpost.services.deliveries.resend`, the same use case the
dashboard's button calls.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from hookpost.services import deliveries
from hookpost.web import render
from hookpost.web.deps import PagingDep, PayloadAccess, ProjectScope, StoreDep
from hookpost.web.schemas import DeliveryDetail, DeliveryOut, DeliveryStatus, ListOut
from hookpost.web.state import waker

router = APIRouter(prefix="/projects/{project_id}/deliveries", tags=["deliveries"])


@router.get("", response_model=ListOut[DeliveryOut])
async def list_deliveries(
    project_id: ProjectScope,
    store: StoreDep,
    page: PagingDep,
    status: DeliveryStatus | None = None,
    endpoint_id: Annotated[str | None, Query(max_length=40)] = None,
    event_type: Annotated[str | None, Query(max_length=255)] = None,
    event_id: Annotated[str | None, Query(max_length=255)] = None,
) -> dict[str, Any]:
    result = await store.list_deliveries(
        project_id,
        limit=page.limit,
        cursor=page.cursor,
        status=status,
        endpoint_id=endpoint_id,
        event_type=event_type,
        event_id=event_id,
    )
    return {"data": [render.delivery(d) for d in result.data], "next_cursor": result.next_cursor}


@router.get("/{delivery_id}", response_model=DeliveryDetail)
async def get_delivery(
    project_id: ProjectScope, delivery_id: str, store: StoreDep, bodies: PayloadAccess
) -> dict[str, Any]:
    return render.delivery(await store.get_delivery(project_id, delivery_id), bodies=bodies)


@router.post("/{delivery_id}/resend", status_code=202, response_model=DeliveryDetail)
async def resend(
    project_id: ProjectScope,
    delivery_id: str,
    store: StoreDep,
    request: Request,
    bodies: PayloadAccess,
) -> dict[str, Any]:
    """Attempt the delivery once more, now (409 while an attempt is in flight)."""
    row = await deliveries.resend(store, project_id, delivery_id, waker(request))
    return render.delivery(row, bodies=bodies)
