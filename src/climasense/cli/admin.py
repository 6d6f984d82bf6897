"""`climasense admin …`: operator tokens."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import click

from climasense.auth.keys import KeyHasher
from climasense.auth.roles import ROLES
from climasense.cli.context import database
from climasense.cli.output import emit_json
from climasense.settings import Settings
from climasense.tokens.service import create_admin_token


@click.group()
def admin() -> None:
    """Operator access."""


@admin.command("create-token")
@click.option("--name", required=True, help="Who or what the token is for.")
@click.option(
    "--role",
    type=click.Choice(ROLES),
    default="admin",
    show_default=True,
    help="viewer reads; operator changes; admin also manages tokens.",
)
@click.option(
    "--expires-in-days",
    type=click.IntRange(1, 36_500),
    default=None,
    help="The token gets 401 after this many days (default: never).",
)
@click.option("--json", "as_json", is_flag=True, help='Print {"token", "name", "role", …}.')
def create_token(name: str, role: str, expires_in_days: int | None, as_json: bool) -> None:
    """Bootstrap: create an operator token on the server's machine (needs the database and the
    server secret) and print it once: only its hash is stored. Later tokens can be made over
    HTTP by an admin (`climasense --url … tokens create`)."""
    expires_at = (
        None if expires_in_days is None else datetime.now(UTC) + timedelta(days=expires_in_days)
    )

    async def run() -> str:
        async with database(Settings.from_env()) as (settings, pool):
            return await create_admin_token(
                pool, KeyHasher(settings.resolved_secret_key()), name, role, expires_at
            )

    token = asyncio.run(run())
    if as_json:
        emit_json(
            {
                "token": token,
                "name": name,
                "role": role,
                "expires_at": None if expires_at is None else expires_at.isoformat(),
            }
        )
    else:
        click.echo(token)
