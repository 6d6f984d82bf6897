"""Operator endpoints for bulk jobs (CONTRACT §11)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404
from climasense.jobs import service
from climasense.jobs.schemas import Job, JobCreated, JobList, JobRequest

router = APIRouter(tags=["jobs"], route_class=JSONRoute)


@router.post("/jobs", status_code=201, response_model=JobCreated)
async def create_job(body: JobRequest, services: ServicesDep, operator: AdminDep) -> JobCreated:
    """Send a command or a settings change to every device a selector matches now (the target
    set is fixed here). An empty selector, a bad settings patch or `factory_reset` → 422 and
    nothing changes."""
    job = await service.create_job(
        services.pool,
        body.selector,
        command_type=body.command.type if body.command else None,
        payload=body.command.payload if body.command else None,
        ttl_seconds=body.command.ttl_seconds if body.command else 86_400,
        settings_patch=body.settings,
        operator=operator,
    )
    return JobCreated.model_validate(job)


@router.get("/jobs", response_model=JobList)
async def list_jobs(
    services: ServicesDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> JobList:
    """Jobs, newest first, each with its progress counts."""
    listed, next_cursor = await service.list_jobs(services.pool, cursor=cursor, limit=limit)
    return JobList(jobs=[Job.model_validate(job) for job in listed], next_cursor=next_cursor)


@router.get("/jobs/{job_id}", response_model=Job)
async def get_job(job_id: str, services: ServicesDep) -> Job:
    """The job and its progress, counted from its commands."""
    return Job.model_validate(await service.get_job(services.pool, uuid_or_404(job_id, "Job")))


@router.post("/jobs/{job_id}/cancel", response_model=Job)
async def cancel_job(job_id: str, services: ServicesDep, operator: AdminDep) -> Job:
    """Cancel every command of the job not yet acked or failed."""
    job = await service.cancel_job(services.pool, uuid_or_404(job_id, "Job"), operator=operator)
    return Job.model_validate(job)
