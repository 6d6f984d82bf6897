"""`climasense admin …`: operator tokens."""

from __future__ import annotations

import asyncio

import click

from climasense.auth.keys import KeyHasher
from climasense.auth.service import create_admin_token
from climasense.cli.context import database
from climasense.cli.output import emit_json
from climasense.settings import Settings


@click.group()
def admin() -> None:
    """Operator access."""


@admin.command("create-token")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option("--json", "as_json", is_flag=True, help='Print {"token": …}.')
def create_token(name: str, as_json: bool) -> None:
    """Create an operator token and print it (once: only its hash is stored)."""

    async def run() -> str:
        async with database(Settings.from_env()) as (settings, pool):
            return await create_admin_token(pool, KeyHasher(settings.resolved_secret_key()), name)

    token = asyncio.run(run())
    if as_json:
        emit_json({"token": token, "name": name})
    else:
        click.echo(token)
