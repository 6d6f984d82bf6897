"""`climasense devices …`: provisioning from the manufacturing line."""

from __future__ import annotations

import asyncio
import sys
from typing import Any

import click

from climasense.audit import LOCAL_CLI
from climasense.auth.keys import KeyHasher
from climasense.cli.context import database
from climasense.cli.fleet import tag_devices, update_device
from climasense.cli.operator_commands import DEVICE_COMMANDS, remote_provision
from climasense.cli.output import emit_json
from climasense.cli.remote import remote_of
from climasense.cli.settings import settings_group
from climasense.devices import service
from climasense.devices.schemas import ProvisionedDevice
from climasense.settings import Settings

_CHUNK = 1000


@click.group()
def devices() -> None:
    """Device inventory."""


@devices.command("provision")
@click.option("--kind", type=click.Choice(["standalone", "hub", "zigbee_sensor"]), required=True)
@click.option("--model", required=True)
@click.option("--batch", required=True)
@click.option("--count", type=click.IntRange(1, 1_000_000), default=1, show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"devices": [...]} as JSON.')
def provision(kind: str, model: str, batch: str, count: int, as_json: bool) -> None:
    """Provision devices; their keys are printed once and stored only as hashes."""
    from rich.progress import Progress

    async def run() -> list[dict[str, Any]]:
        created: list[dict[str, Any]] = []
        async with database(Settings.from_env()) as (settings, pool):
            hasher = KeyHasher(settings.resolved_secret_key())
            with Progress(disable=not sys.stderr.isatty(), transient=True) as progress:
                task = progress.add_task("provisioning", total=count)
                while len(created) < count:
                    chunk = min(_CHUNK, count - len(created))
                    provisioned = await service.provision(
                        pool,
                        hasher,
                        kind=kind,
                        model=model,
                        batch=batch,
                        count=chunk,
                        operator=LOCAL_CLI,
                    )
                    # As the API would answer, so both paths print the same.
                    created += [
                        ProvisionedDevice.model_validate(device).model_dump(mode="json")
                        for device in provisioned
                    ]
                    progress.update(task, advance=chunk)
        return created

    remote = remote_of()
    if remote is not None:
        created = remote_provision(
            remote, kind=kind, model=model, batch=batch, count=count, as_json=as_json
        )
    else:
        created = asyncio.run(run())
    if as_json:
        emit_json({"devices": created})
    else:
        for device in created:
            click.echo(f"{device['serial_number']}\t{device['device_id']}\t{device['api_key']}")


# The group's other subcommands live with their kind of work; attached here, so that loading
# `devices` (lazily: see `climasense.cli`) brings them all.
for _command in [settings_group, *DEVICE_COMMANDS, update_device, tag_devices]:
    devices.add_command(_command)
