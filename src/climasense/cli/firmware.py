"""`climasense firmware …`: upload images and release them to batches.

Like the other commands, these work on the database and the firmware store directly (the
same configuration as `serve`: CLIMASENSE_DATABASE_URL or the embedded database, and
CLIMASENSE_BLOB_URL), through the same service code as the HTTP API, so the same rules apply
(semver, 409 on a duplicate, overlapping releases refused).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import click

from climasense.audit import LOCAL_CLI
from climasense.blobstore.factory import build_blob_store
from climasense.cli.context import database
from climasense.cli.operator_commands import FIRMWARE_COMMANDS, remote_call, remote_upload
from climasense.cli.output import emit_json
from climasense.cli.remote import remote_of
from climasense.cli.signing import keygen, sign, signature_for
from climasense.errors import ClimaSenseError
from climasense.ota import firmware as firmware_service
from climasense.ota import releases
from climasense.ota.schemas import Firmware, Release
from climasense.settings import Settings

_CHUNK = 1024 * 1024


@click.group()
def firmware() -> None:
    """Firmware images and staged releases."""


def _fail(exc: ClimaSenseError) -> None:
    click.echo(f"climasense: {exc.message} ({exc.error_code})", err=True)
    for detail in exc.details:
        click.echo(f"  {detail.get('field')}: {detail.get('message')}", err=True)
    sys.exit(1)


@firmware.command("upload")
@click.option("--model", required=True)
@click.option("--version", "version", required=True, help="A semantic version, e.g. 1.3.0.")
@click.option(
    "--file",
    "path",
    required=True,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
)
@click.option("--notes", default=None, help="Release notes shown to devices.")
@click.option(
    "--key",
    "key_path",
    default=None,
    type=click.Path(exists=True, dir_okay=False, readable=True, path_type=Path),
    help="Sign with this private key first (signing.key); only the signature is sent.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the stored image as JSON.")
def upload(
    model: str, version: str, path: Path, notes: str | None, key_path: Path | None, as_json: bool
) -> None:
    """Upload a firmware image (streamed; its sha256 is computed on the way)."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    total = path.stat().st_size
    signature = signature_for(key_path, path, model=model, version=version)

    async def run() -> dict[str, Any]:
        async with database(Settings.from_env()) as (settings, pool):
            store = await build_blob_store(settings)
            try:
                with Progress(
                    "[progress.description]{task.description}",
                    BarColumn(),
                    DownloadColumn(),
                    TransferSpeedColumn(),
                    TimeRemainingColumn(),
                    disable=not sys.stderr.isatty(),
                    transient=True,
                ) as progress:
                    task = progress.add_task(f"uploading {path.name}", total=total)

                    async def chunks() -> AsyncIterator[bytes]:
                        with path.open("rb") as handle:
                            while chunk := await asyncio.to_thread(handle.read, _CHUNK):
                                progress.update(task, advance=len(chunk))
                                yield chunk

                    image = await firmware_service.upload(
                        pool,
                        store,
                        model=model,
                        version=version,
                        chunks=chunks(),
                        release_notes=notes,
                        max_bytes=settings.firmware_max_bytes,
                        signature=signature,
                        trusted=firmware_service.trusted_keys(settings.firmware_public_keys),
                        require_signature=settings.firmware_require_signature,
                        operator=LOCAL_CLI,
                    )
                    # The operator API's shape, as the remote path prints it.
                    return Firmware.model_validate(image).model_dump()
            finally:
                await store.close()

    remote = remote_of()
    try:
        stored = (
            remote_upload(
                remote,
                model=model,
                version=version,
                path=path,
                notes=notes,
                signature=signature,
                as_json=as_json,
            )
            if remote is not None
            else asyncio.run(run())
        )
    except ClimaSenseError as exc:
        _fail(exc)
        return
    if as_json:
        emit_json(stored)
    else:
        signed = f", signed by {stored['signing_key_id']}" if stored.get("signing_key_id") else ""
        click.echo(
            f"{stored['model']} {stored['version']}: {stored['size_bytes']} bytes, "
            f"{stored['checksum']}{signed}"
        )


@firmware.command("release")
@click.option("--model", required=True)
@click.option("--version", "version", required=True)
@click.option("--batches", required=True, help="Comma-separated batch names.")
@click.option(
    "--threshold",
    type=click.FloatRange(0, 100),
    default=None,
    help="Failure rate (%) above which the release pauses itself (default 20).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the release as JSON.")
def release(model: str, version: str, batches: str, threshold: float | None, as_json: bool) -> None:
    """Release an uploaded image to some batches of its model (a staged rollout)."""
    names = [b.strip() for b in batches.split(",") if b.strip()]

    async def run() -> dict[str, Any]:
        async with database(Settings.from_env()) as (settings, pool):
            created = await releases.create(
                pool,
                settings,
                model=model,
                version=version,
                batches=names,
                failure_threshold_percent=threshold,
                operator=LOCAL_CLI,
            )
            # The operator API's shape, as the remote path prints it.
            return Release.model_validate(created).model_dump()

    remote = remote_of()
    body: dict[str, Any] = {"batches": names}
    if threshold is not None:
        body["failure_threshold_percent"] = threshold
    try:
        created = (
            remote_call(
                remote,
                "POST",
                f"/firmware/{model}/{version}/releases",
                as_json=as_json,
                json=body,
            )
            if remote is not None
            else asyncio.run(run())
        )
    except ClimaSenseError as exc:
        _fail(exc)
        return
    if as_json:
        emit_json(created)
    else:
        click.echo(
            f"release {created['release_id']}: {model} {version} → {', '.join(created['batches'])} "
            f"({created['state']}, pauses above {created['failure_threshold_percent']:g} % failed)"
        )


# Signing and the release actions live with their kind of work; attached here, so that loading
# `firmware` (lazily: see `climasense.cli`) brings them all.
for _command in [keygen, sign, *FIRMWARE_COMMANDS]:
    firmware.add_command(_command)
