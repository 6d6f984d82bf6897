"""The `climasense` command imports a subcommand only when it runs (`climasense.cli.LazyGroup`)."""

from __future__ import annotations

import subprocess
import sys

import click
import pytest

from climasense.cli import SUBCOMMANDS, cli

# What an operator's remote command has no use for: the server, the worker, the S3 client,
# the simulator.
HEAVY = ("uvicorn", "fastapi", "aiobotocore", "climasense.runtime", "climasense.simulator")


def test_every_subcommand_is_found_under_its_name() -> None:
    ctx = click.Context(cli)
    assert cli.list_commands(ctx) == sorted(SUBCOMMANDS)
    for name in SUBCOMMANDS:
        command = cli.get_command(ctx, name)
        assert command is not None
        assert command.name == name


@pytest.mark.parametrize(
    ("group", "subcommands"),
    [
        (
            "devices",
            {"provision", "list", "show", "revoke", "rotate-key", "settings", "update", "tag"},
        ),
        ("firmware", {"upload", "keygen", "sign", "pause", "resume", "cancel", "releases"}),
    ],
)
def test_a_group_brings_the_subcommands_attached_from_other_modules(
    group: str, subcommands: set[str]
) -> None:
    found = cli.get_command(click.Context(cli), group)
    assert isinstance(found, click.Group)
    assert subcommands <= set(found.list_commands(click.Context(found)))


def test_a_remote_command_imports_neither_the_server_nor_the_worker() -> None:
    # A fresh interpreter: this test process has imported everything already.
    probe = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from climasense.cli import cli\n"
        "result = CliRunner().invoke(cli, ['--url', 'http://127.0.0.1:9', 'whoami'])\n"
        "assert 'needs --token' in result.output, result.output\n"
        f"print(sorted(m for m in sys.modules if m.startswith({HEAVY!r})))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert out.stdout.strip() == "[]", out.stdout
