"""The `climasense` command.

Its subcommands are imported when they run, not when the command starts (`LazyGroup`): all of
them together pull in the server, the S3 client, the simulator and the worker (about 2 s on a
slow machine), which an operator's `climasense --url … whoami` has no use for.
"""

from __future__ import annotations

import importlib
import sys
from typing import Any

import click

from climasense.cli.remote import TOKEN_ENV, URL_ENV, Remote
from climasense.errors import ConfigurationError


class LazyGroup(click.Group):
    """A click group whose subcommands are named by where they live ("module:attribute") and
    imported only when one is looked up (click's documented pattern for lazy subcommands)."""

    def __init__(self, *args: Any, lazy: dict[str, str], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lazy = lazy

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        where = self.lazy.get(cmd_name)
        if where is None:
            return super().get_command(ctx, cmd_name)
        module, attribute = where.split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{where} is not a click command")
        return command


SUBCOMMANDS = {
    "serve": "climasense.cli.server:serve",
    "migrate": "climasense.cli.server:migrate_command",
    "worker": "climasense.cli.worker:worker",
    "admin": "climasense.cli.admin:admin",
    "devices": "climasense.cli.devices:devices",
    "commands": "climasense.cli.commands:commands",
    "firmware": "climasense.cli.firmware:firmware",
    "simulate": "climasense.cli.simulate:simulate",
    "alerts": "climasense.cli.operator_commands:alerts",
    "webhooks": "climasense.cli.operator_commands:webhooks",
    "tokens": "climasense.cli.operator_commands:tokens",
    "audit": "climasense.cli.operator_commands:audit",
    "whoami": "climasense.cli.operator_commands:whoami",
    "jobs": "climasense.cli.fleet:jobs",
    "telemetry": "climasense.cli.fleet:telemetry_group",
}


@click.group(cls=LazyGroup, lazy=SUBCOMMANDS)
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


def main() -> None:
    try:
        cli(standalone_mode=True)
    except ConfigurationError as exc:
        click.echo(f"climasense: {exc}", err=True)
        sys.exit(2)
