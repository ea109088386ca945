"""Bulk actions as background jobs, with progress: project-wide recover, job status."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from hookpost.services import deliveries
from hookpost.web import render
from hookpost.web.deps import PagingDep, ProjectScope, StoreDep
from hookpost.web.schemas import JobOut, ListOut, ProjectRecoverIn, RecoverOut
from hookpost.web.state import waker

router = APIRouter(prefix="/projects/{project_id}", tags=["jobs"])


@router.post("/recover", status_code=202, response_model=RecoverOut)
async def recover_project(
    project_id: ProjectScope, body: ProjectRecoverIn, store: StoreDep, request: Request
) -> Any:
    """Resend every failed delivery of the project (or of one endpoint) in a time window."""
    until = body.until.timestamp() if body.until else None
    job = await deliveries.recover(
        store, project_id, body.endpoint_id, body.since.timestamp(), until, waker(request)
    )
    return {**render.job(job), "recovered": job["total"]}


@router.get("/jobs", response_model=ListOut[JobOut])
async def list_jobs(project_id: ProjectScope, store: StoreDep, page: PagingDep) -> Any:
    result = await store.list_jobs(project_id, limit=page.limit, cursor=page.cursor)
    return {"data": [render.job(j) for j in result.data], "next_cursor": result.next_cursor}


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(project_id: ProjectScope, job_id: str, store: StoreDep) -> Any:
    return render.job(await store.get_job(project_id, job_id))
