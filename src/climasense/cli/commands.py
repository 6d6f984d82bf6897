"""`climasense commands …`: send, list and cancel device commands (the operator API's rules,
straight against the database)."""

from __future__ import annotations

from typing import Any

import click
import orjson

from climasense.audit import LOCAL_CLI
from climasense.cli.errors import run_with_pool
from climasense.cli.operator_commands import remote_call
from climasense.cli.output import emit_json
from climasense.cli.remote import remote_of
from climasense.commands import service
from climasense.commands.repository import Command
from climasense.commands.schemas import CommandRequest, CommandView
from climasense.device_settings.service import SettingsConfigUpdates
from climasense.ids import uuid_or_404


def _as_json(command: Command) -> dict[str, Any]:
    return CommandView.model_validate(command).model_dump(mode="json")


def _summary(command: dict[str, Any]) -> str:
    """A command the remote API returned, on one line."""
    return (
        f"{command['command_id']}\t{command['type']}\t{command['status']}\t{command['created_at']}"
    )


def _line(command: Command) -> str:
    """A command read from the database, on one line."""
    return f"{command.command_id}\t{command.type}\t{command.status}\t{command.created_at}"


def _payload(raw: str | None) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise click.BadParameter("not valid JSON", param_hint="--payload") from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint="--payload")
    return value


@click.group()
def commands() -> None:
    """Device commands (reboot, config_update, factory_reset, diagnostics)."""


@commands.command("send")
@click.option("--device", "device_id", required=True, help="Device id (UUID).")
@click.option(
    "--type",
    "command_type",
    required=True,
    type=click.Choice(list(service.COMMAND_TYPES)),
)
@click.option("--payload", help="Type-specific parameters as a JSON object.")
@click.option(
    "--ttl",
    "ttl_seconds",
    type=click.IntRange(1, service.MAX_TTL_SECONDS),
    default=service.MAX_TTL_SECONDS,
    show_default=True,
    help="Seconds until the command expires.",
)
@click.option("--confirm", help="factory_reset only: the device's serial number.")
@click.option("--json", "as_json", is_flag=True, help="Print the command as JSON.")
def send(
    device_id: str,
    command_type: str,
    payload: str | None,
    ttl_seconds: int,
    confirm: str | None,
    as_json: bool,
) -> None:
    """Queue a command for a device."""
    parsed = _payload(payload)
    remote = remote_of()
    if remote is not None:
        body: dict[str, Any] = {"type": command_type, "ttl_seconds": ttl_seconds}
        if parsed is not None:
            body["payload"] = parsed
        if confirm is not None:
            body["confirm"] = confirm
        sent = remote_call(
            remote, "POST", f"/devices/{device_id}/commands", as_json=as_json, json=body
        )
        emit_json(sent) if as_json else click.echo(_summary(sent))
        return
    command = run_with_pool(
        lambda pool: service.send_command(
            pool,
            uuid_or_404(device_id, "Device"),
            CommandRequest.model_validate(
                {
                    "type": command_type,
                    "payload": parsed,
                    "ttl_seconds": ttl_seconds,
                    "confirm": confirm,
                }
            ),
            operator=LOCAL_CLI,
            config_updates=SettingsConfigUpdates(),
        ),
        as_json=as_json,
    )
    if as_json:
        emit_json(_as_json(command))
    else:
        click.echo(_line(command))


@commands.command("list")
@click.option("--device", "device_id", required=True, help="Device id (UUID).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"commands": [...]} as JSON.')
def list_commands(device_id: str, limit: int, as_json: bool) -> None:
    """A device's commands, newest first."""
    remote = remote_of()
    if remote is not None:
        page = remote_call(
            remote,
            "GET",
            f"/devices/{device_id}/commands",
            as_json=as_json,
            params={"limit": limit},
        )
        if as_json:
            emit_json(page)
        else:
            for listed in page["commands"]:
                click.echo(_summary(listed))
        return
    found, next_cursor = run_with_pool(
        lambda pool: service.command_history(
            pool, uuid_or_404(device_id, "Device"), cursor=None, limit=limit
        ),
        as_json=as_json,
    )
    if as_json:
        emit_json({"commands": [_as_json(c) for c in found], "next_cursor": next_cursor})
    else:
        for command in found:
            click.echo(_line(command))


@commands.command("cancel")
@click.argument("command_id")
@click.option("--json", "as_json", is_flag=True, help="Print the command as JSON.")
def cancel(command_id: str, as_json: bool) -> None:
    """Cancel a command the device has not answered yet."""
    remote = remote_of()
    if remote is not None:
        cancelled = remote_call(remote, "POST", f"/commands/{command_id}/cancel", as_json=as_json)
        emit_json(cancelled) if as_json else click.echo(_summary(cancelled))
        return
    command = run_with_pool(
        lambda pool: service.cancel_command(
            pool, uuid_or_404(command_id, "Command"), operator=LOCAL_CLI
        ),
        as_json=as_json,
    )
    if as_json:
        emit_json(_as_json(command))
    else:
        click.echo(_line(command))
