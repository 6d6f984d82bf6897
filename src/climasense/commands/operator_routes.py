"""Operator endpoints: send a command, read a device's command history, cancel."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from climasense.commands import service
from climasense.commands.schemas import CommandList, CommandRequest, CommandView
from climasense.http.operator_deps import AdminDep, ServicesDep
from climasense.http.routing import JSONRoute
from climasense.ids import uuid_or_404

router = APIRouter(tags=["commands"], route_class=JSONRoute)


@router.post("/devices/{device_id}/commands", status_code=201, response_model=CommandView)
async def send_command(
    device_id: str, body: CommandRequest, services: ServicesDep, operator: AdminDep
) -> CommandView:
    """Queue a command for the device. `factory_reset` needs `confirm` equal to the device's
    serial number (else 422 `confirmation_required`, nothing queued)."""
    command = await service.send_command(
        services.pool,
        uuid_or_404(device_id, "Device"),
        body,
        operator=operator,
        config_updates=services.config_updates,
    )
    return CommandView.model_validate(command)


@router.get("/devices/{device_id}/commands", response_model=CommandList)
async def command_history(
    device_id: str,
    services: ServicesDep,
    cursor: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> CommandList:
    """The device's commands, newest first; pass `next_cursor` back as `cursor`."""
    commands, next_cursor = await service.command_history(
        services.pool, uuid_or_404(device_id, "Device"), cursor=cursor, limit=limit
    )
    return CommandList(
        commands=[CommandView.model_validate(c) for c in commands], next_cursor=next_cursor
    )


@router.post("/commands/{command_id}/cancel", response_model=CommandView)
async def cancel_command(command_id: str, services: ServicesDep, operator: AdminDep) -> CommandView:
    """Cancel a command the device has not answered; its later ack gets 409
    `command_cancelled`. Already answered: 409 `conflict`; expired: 409 `command_expired`."""
    command = await service.cancel_command(
        services.pool, uuid_or_404(command_id, "Command"), operator=operator
    )
    return CommandView.model_validate(command)
