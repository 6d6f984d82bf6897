"""`climasense simulate`: run virtual devices against a server."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

import click
import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from climasense.cli.event_loop import loop_factory
from climasense.cli.output import emit_json
from climasense.ota import signing
from climasense.simulator.client import ClientShards, Stats
from climasense.simulator.device import Timing
from climasense.simulator.fleet import (
    Plan,
    SimulationError,
    build_devices,
    deadline_after,
    provision,
    read_keys,
    run_fleet,
    save_keys,
)


@click.command()
@click.option(
    "--devices",
    type=click.IntRange(0, 100_000),
    default=0,
    show_default=True,
    help="Standalone devices.",
)
@click.option("--hubs", type=click.IntRange(0, 10_000), default=0, show_default=True)
@click.option("--sensors-per-hub", type=click.IntRange(0, 64), default=0, show_default=True)
@click.option(
    "--interval",
    type=click.FloatRange(1, 3600),
    default=10.0,
    show_default=True,
    help="Seconds between telemetry posts.",
)
@click.option("--url", default="http://127.0.0.1:8000", show_default=True, envvar="CLIMASENSE_URL")
@click.option("--token", envvar="CLIMASENSE_TOKEN", help="Admin token, to provision the devices.")
@click.option(
    "--keys",
    "keys_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Use these devices instead of provisioning (JSON as `devices provision --json` prints).",
)
@click.option(
    "--save-keys",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the provisioned devices and keys here.",
)
@click.option(
    "--duration",
    type=click.FloatRange(0.1, None),
    help="Stop after this many seconds (default: until Ctrl-C).",
)
@click.option("--batch", default="sim", show_default=True, help="Batch of provisioned devices.")
@click.option(
    "--tags",
    default="",
    help="Tags for the provisioned devices (comma-separated), e.g. canary for a targeted release.",
)
@click.option(
    "--model", default="CS-100", show_default=True, help="Model of provisioned standalone devices."
)
@click.option(
    "--backfill-hours",
    type=click.FloatRange(0, 24 * 30),
    default=0.0,
    show_default=True,
    help="First post this much history.",
)
@click.option("--command-poll", type=click.FloatRange(2, 3600), default=5.0, show_default=True)
@click.option("--ota-check", type=click.FloatRange(6, 86400), default=30.0, show_default=True)
@click.option("--ota-failure-rate", type=click.FloatRange(0, 1), default=0.0, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--firmware-public-key",
    "public_key_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Apply only images signed by this key (signing.pub); others are reported failed.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the final summary as JSON.")
def simulate(
    devices: int,
    hubs: int,
    sensors_per_hub: int,
    interval: float,
    url: str,
    token: str | None,
    keys_file: Path | None,
    save_keys: Path | None,
    duration: float | None,
    batch: str,
    tags: str,
    model: str,
    backfill_hours: float,
    command_poll: float,
    ota_check: float,
    ota_failure_rate: float,
    seed: int,
    public_key_file: Path | None,
    as_json: bool,
) -> None:
    """Run virtual devices, hubs and Zigbee sensors that post telemetry, answer commands and
    take firmware updates, against the server at --url."""
    logging.basicConfig(level=os.environ.get("CLIMASENSE_LOG_LEVEL", "warning").upper())
    if keys_file is None and token is None:
        raise click.UsageError("give --token (to provision devices) or --keys FILE")
    if keys_file is None and devices + hubs == 0:
        raise click.UsageError("nothing to simulate: give --devices and/or --hubs")
    public_key = None
    if public_key_file is not None:
        try:
            public_key = signing.load_public_key(public_key_file)
        except signing.SigningError as exc:
            raise click.BadParameter(str(exc), param_hint="--firmware-public-key") from None
    timing = Timing(
        interval=interval,
        command_poll=command_poll,
        ota_check=ota_check,
        ota_failure_rate=ota_failure_rate,
    )
    plan = Plan(
        devices=devices,
        hubs=hubs,
        sensors_per_hub=sensors_per_hub,
        model=model,
        batch=batch,
        tags=tuple(t for t in re.split(r"[\s,]+", tags) if t),
    )
    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            summary = runner.run(
                _run(
                    url,
                    token,
                    keys_file,
                    save_keys,
                    plan,
                    timing,
                    duration,
                    backfill_hours,
                    seed,
                    public_key,
                )
            )
    except SimulationError as exc:
        click.echo(f"climasense simulate: {exc}", err=True)
        sys.exit(1)
    except KeyboardInterrupt:
        return
    if as_json:
        emit_json(summary)
    else:
        click.echo(_line(summary), err=True)


async def _run(
    url: str,
    token: str | None,
    keys_file: Path | None,
    save_to: Path | None,
    plan: Plan,
    timing: Timing,
    duration: float | None,
    backfill_hours: float,
    seed: int,
    public_key: Ed25519PublicKey | None = None,
) -> dict[str, Any]:
    stats = Stats()
    # Provisioning (a few large requests) on its own client; the devices on their shards.
    shards = ClientShards(url)
    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        try:
            if keys_file is not None:
                entries = read_keys(keys_file)
            else:
                assert token is not None
                entries = await provision(http, token, plan)
                if save_to is not None:
                    save_keys(save_to, entries)
        except httpx.HTTPError as exc:
            raise SimulationError(f"cannot reach {url}: {exc}") from None
    try:
        started = time.monotonic()
        deadline = deadline_after(duration)
        fleet = build_devices(
            entries,
            shards,
            stats,
            timing,
            deadline=deadline,
            seed=seed,
            sensors_per_hub=plan.sensors_per_hub if keys_file is None else None,
            firmware_public_key=public_key,
        )
        click.echo(
            f"simulating {len(fleet)} devices "
            f"({sum(len(d.sensors) for d in fleet)} Zigbee sensors) against {url}",
            err=True,
        )
        await run_fleet(
            fleet,
            deadline,
            backfill_hours=backfill_hours,
            on_progress=lambda: click.echo(_line(_summary(stats, fleet, started)), err=True),
        )
        return _summary(stats, fleet, started)
    finally:
        await shards.aclose()


def _summary(stats: Stats, fleet: list[Any], started: float) -> dict[str, Any]:
    return {
        "devices": len(fleet),
        "sensors": sum(len(d.sensors) for d in fleet),
        "seconds": round(time.monotonic() - started, 1),
        **stats.as_dict(),
        "serials": [d.identity.serial_number for d in fleet][:20],
    }


def _line(summary: dict[str, Any]) -> str:
    return (
        f"[{summary['seconds']:>7.1f} s] {summary['telemetry_posts']} posts, "
        f"{summary['readings_accepted']} readings, {summary['commands_acked']} commands acked, "
        f"{summary['ota_completed']} updates, {summary['rate_limited']} rate-limited"
    )
