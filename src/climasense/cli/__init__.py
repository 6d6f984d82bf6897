"""The `climasense` command."""

from __future__ import annotations

import sys

import click

from climasense.cli.admin import admin
from climasense.cli.commands import commands
from climasense.cli.devices import devices
from climasense.cli.firmware import firmware
from climasense.cli.fleet import jobs, tag_devices, telemetry_group, update_device
from climasense.cli.operator_commands import (
    DEVICE_COMMANDS,
    FIRMWARE_COMMANDS,
    alerts,
    audit,
    tokens,
    webhooks,
    whoami,
)
from climasense.cli.remote import TOKEN_ENV, URL_ENV, Remote
from climasense.cli.server import migrate_command, serve
from climasense.cli.settings import settings_group
from climasense.cli.signing import keygen, sign
from climasense.cli.simulate import simulate
from climasense.cli.worker import worker
from climasense.errors import ConfigurationError


@click.group()
@click.version_option(package_name="climasense")
@click.option(
    "--url",
    envvar=URL_ENV,
    help="Operator API base URL: operator commands go over HTTP (no database, no secret).",
)
@click.option("--token", envvar=TOKEN_ENV, help="Operator token for --url.")
@click.pass_context
def cli(ctx: click.Context, url: str | None, token: str | None) -> None:
    """ClimaSense: backend for fleets of environmental IoT devices."""
    if url:
        ctx.obj = Remote(url, token)


cli.add_command(serve)
cli.add_command(migrate_command)
cli.add_command(admin)
cli.add_command(devices)
cli.add_command(worker)
cli.add_command(commands)
devices.add_command(settings_group)
cli.add_command(firmware)
firmware.add_command(keygen)
firmware.add_command(sign)
cli.add_command(simulate)
for command in DEVICE_COMMANDS:
    devices.add_command(command)
for command in FIRMWARE_COMMANDS:
    firmware.add_command(command)
cli.add_command(alerts)
cli.add_command(webhooks)
cli.add_command(tokens)
cli.add_command(audit)
cli.add_command(whoami)
devices.add_command(update_device)
devices.add_command(tag_devices)
cli.add_command(jobs)
cli.add_command(telemetry_group)


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigurationError as exc:
        click.echo(f"climasense: {exc}", err=True)
        sys.exit(2)
