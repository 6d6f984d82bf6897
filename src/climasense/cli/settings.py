"""`climasense devices settings …`: read and change a device's settings as an operator (a
change queues a config_update, exactly as `PATCH /admin/v1/devices/{id}/settings`)."""

from __future__ import annotations

from typing import Any

import click
import orjson

from climasense.audit import LOCAL_CLI
from climasense.cli.errors import run_with_pool
from climasense.cli.operator_commands import remote_call
from climasense.cli.output import emit_json
from climasense.cli.remote import remote_of
from climasense.device_settings import service
from climasense.ids import uuid_or_404


def _print(document: dict[str, Any], as_json: bool) -> None:
    # The document's JSON form: what the remote API answered, or `SettingsDocument.as_json()`.
    if as_json:
        emit_json(document)
        return
    for key, value in document.items():
        shown = ",".join(value) if isinstance(value, list) else value
        click.echo(f"{key}\t{shown}")


@click.group("settings")
def settings_group() -> None:
    """A device's settings document."""


@settings_group.command("get")
@click.option("--device", "device_id", required=True, help="Device id (UUID).")
@click.option("--json", "as_json", is_flag=True, help="Print the document as JSON.")
def get(device_id: str, as_json: bool) -> None:
    """Show the device's settings."""
    remote = remote_of()
    if remote is not None:
        _print(
            remote_call(remote, "GET", f"/devices/{device_id}/settings", as_json=as_json), as_json
        )
        return
    document = run_with_pool(
        lambda pool: service.settings_document(pool, uuid_or_404(device_id, "Device")),
        as_json=as_json,
    )
    _print(document.as_json(), as_json)


def build_patch(
    *,
    interval: int | None,
    sensors: str | None,
    timezone: str | None,
    latitude: float | None,
    longitude: float | None,
    location_name: str | None,
    clear_location: bool,
    raw_patch: str | None,
) -> dict[str, Any]:
    patch: dict[str, Any] = {}
    if raw_patch is not None:
        try:
            patch = orjson.loads(raw_patch)
        except orjson.JSONDecodeError:
            raise click.BadParameter("not valid JSON", param_hint="--patch") from None
        if not isinstance(patch, dict):
            raise click.BadParameter("must be a JSON object", param_hint="--patch")
    if interval is not None:
        patch["reporting_interval_seconds"] = interval
    if sensors is not None:
        patch["enabled_sensors"] = [s.strip() for s in sensors.split(",") if s.strip()]
    if timezone is not None:
        patch["timezone"] = timezone
    location = {
        key: value
        for key, value in (
            ("latitude", latitude),
            ("longitude", longitude),
            ("name", location_name),
        )
        if value is not None
    }
    if clear_location:
        if location:
            raise click.UsageError("--clear-location cannot be combined with location options")
        patch["location"] = None
    elif location:
        patch["location"] = location
    return patch


@settings_group.command("set")
@click.option("--device", "device_id", required=True, help="Device id (UUID).")
@click.option("--interval", type=int, help="reporting_interval_seconds (60..3600).")
@click.option("--sensors", help="enabled_sensors, comma-separated (empty string: none).")
@click.option("--timezone", help="IANA time zone name, e.g. Europe/Paris.")
@click.option("--latitude", type=float)
@click.option("--longitude", type=float)
@click.option("--location-name")
@click.option("--clear-location", is_flag=True, help="Set location to null.")
@click.option("--patch", "raw_patch", help="A JSON Merge Patch, applied before the options.")
@click.option("--if-match", help="Only if the settings are still at this version.")
@click.option("--json", "as_json", is_flag=True, help="Print the new document as JSON.")
def set_settings(
    device_id: str,
    interval: int | None,
    sensors: str | None,
    timezone: str | None,
    latitude: float | None,
    longitude: float | None,
    location_name: str | None,
    clear_location: bool,
    raw_patch: str | None,
    if_match: str | None,
    as_json: bool,
) -> None:
    """Change the device's settings (merge patch); the device gets a config_update."""
    patch = build_patch(
        interval=interval,
        sensors=sensors,
        timezone=timezone,
        latitude=latitude,
        longitude=longitude,
        location_name=location_name,
        clear_location=clear_location,
        raw_patch=raw_patch,
    )
    etag = None if if_match is None else '"' + if_match.strip().strip('"') + '"'  # 7 or "7"
    remote = remote_of()
    if remote is not None:
        headers = {"Content-Type": "application/merge-patch+json"}
        if etag is not None:
            headers["If-Match"] = etag
        changed = remote_call(
            remote,
            "PATCH",
            f"/devices/{device_id}/settings",
            as_json=as_json,
            content=orjson.dumps(patch),
            headers=headers,
        )
        _print(changed, as_json)
        return
    document = run_with_pool(
        lambda pool: service.patch_settings(
            pool,
            uuid_or_404(device_id, "Device"),
            patch,
            if_match=etag,
            actor="operator",
            operator=LOCAL_CLI,
        ),
        as_json=as_json,
    )
    _print(document.as_json(), as_json)
