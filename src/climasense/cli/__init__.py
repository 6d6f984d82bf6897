"""The `climasense` command."""

from __future__ import annotations

import sys

import click

from climasense.cli.admin import admin
from climasense.cli.commands import commands
from climasense.cli.devices import devices
from climasense.cli.firmware import firmware
from climasense.cli.fleet import jobs, tag_devices, telemetry_group, update_device
from climasense.cli.server import migrate_command, serve
from climasense.cli.settings import settings_group
from climasense.cli.simulate import simulate
from climasense.cli.worker import worker
from climasense.errors import ConfigurationError


@click.group()
@click.version_option(package_name="climasense")
def cli() -> None:
    """ClimaSense: backend for fleets of environmental IoT devices."""


cli.add_command(serve)
cli.add_command(migrate_command)
cli.add_command(admin)
cli.add_command(devices)
cli.add_command(worker)
cli.add_command(commands)
devices.add_command(settings_group)
cli.add_command(firmware)
cli.add_command(simulate)
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
