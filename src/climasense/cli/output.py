"""Printing results: JSON with `--json`, otherwise a short human table."""

from __future__ import annotations

from typing import Any

import click

from climasense.http.responses import dumps


def emit_json(value: Any) -> None:
    click.echo(dumps(value).decode())
