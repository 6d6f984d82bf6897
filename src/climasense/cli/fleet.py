"""`climasense devices update|tag`, `climasense jobs …`, `climasense telemetry export`: fleet
operations (CONTRACT §11). With `--url`/`--token` (or CLIMASENSE_URL/CLIMASENSE_TOKEN) each goes
through the operator API (no database, no server secret; audited under the token); without, it
runs against the database with the operator API's rules (audited as `local cli`)."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import click
import orjson
from pydantic import ValidationError

from climasense.audit import LOCAL_CLI
from climasense.cli.errors import run_with_pool
from climasense.cli.output import emit_json
from climasense.cli.remote import OperatorClient, remote_of
from climasense.devices import service as devices_service
from climasense.devices import tagging
from climasense.devices.schemas import DeviceDetail
from climasense.devices.selectors import Selector
from climasense.ids import uuid_or_404
from climasense.jobs import service as jobs_service
from climasense.jobs.schemas import Job
from climasense.jobs.service import JobProgress
from climasense.telemetry import export, query


def _json_object(raw: str | None, option: str) -> dict[str, Any] | None:
    if raw is None:
        return None
    try:
        value = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise click.BadParameter("not valid JSON", param_hint=option) from None
    if not isinstance(value, dict):
        raise click.BadParameter("must be a JSON object", param_hint=option)
    return value


def selector_options(function: Callable[..., Any]) -> Callable[..., Any]:
    """The selector as options: every condition given must hold; none at all is refused."""
    for decorator in reversed(
        [
            click.option("--device", "device_ids", multiple=True, help="Device id (repeatable)."),
            click.option("--batch", "sel_batch", help="Devices of this batch."),
            click.option("--model", "sel_model", help="Devices of this model."),
            click.option("--kind", "sel_kind", type=click.Choice(["standalone", "hub"])),
            click.option("--tag-all", "tags_all", multiple=True, help="Has every one (repeat)."),
            click.option("--tag-any", "tags_any", multiple=True, help="Has one of (repeat)."),
        ]
    ):
        function = decorator(function)
    return function


def _selector(options: dict[str, Any]) -> Selector:
    raw = {
        "device_ids": list(options.pop("device_ids")) or None,
        "batch": options.pop("sel_batch"),
        "model": options.pop("sel_model"),
        "kind": options.pop("sel_kind"),
        "tags_all": list(options.pop("tags_all")) or None,
        "tags_any": list(options.pop("tags_any")) or None,
    }
    try:
        return Selector.model_validate({k: v for k, v in raw.items() if v is not None})
    except ValidationError as exc:
        raise click.BadParameter(str(exc.errors()[0]["msg"]), param_hint="selector") from None


def _job_line(job: dict[str, Any]) -> str:
    counts = " ".join(f"{k}={v}" for k, v in (job.get("counts") or {}).items())
    return f"{job['job_id']}\t{job['kind']}\t{job['state']}\t{job['target_count']}\t{counts}"


def _job_json(job: JobProgress) -> dict[str, Any]:
    """A job as the operator API would answer it (what `_job_line` and `--json` print)."""
    return Job.model_validate(job).model_dump(mode="json")


def _segment(value: str) -> str:
    return quote(value, safe="")


def _print_remote_job(job: dict[str, Any], as_json: bool) -> None:
    """A job in the operator API's JSON shape: as answered, or `_job_json` of a local one."""
    if as_json:
        emit_json(job)
    else:
        click.echo(_job_line(job))


def _print_job(job: JobProgress, as_json: bool) -> None:
    _print_remote_job(_job_json(job), as_json)


@click.command("update")
@click.argument("device_id")
@click.option("--tag", "tags", multiple=True, help="The whole new tag set (repeatable).")
@click.option("--clear-tags", is_flag=True, help="Remove every tag.")
@click.option("--label", help="Free text, at most 100 characters (e.g. a boat's name).")
@click.option("--clear-label", is_flag=True)
@click.option("--batch", help="Move the device to this batch.")
@click.option("--json", "as_json", is_flag=True, help="Print the device as JSON.")
def update_device(
    device_id: str,
    tags: tuple[str, ...],
    clear_tags: bool,
    label: str | None,
    clear_label: bool,
    batch: str | None,
    as_json: bool,
) -> None:
    """Change a device's tags, label and/or batch (a bad tag changes nothing)."""
    remote = remote_of()
    if remote is not None:
        body: dict[str, Any] = {}
        if clear_tags or tags:
            body["tags"] = [] if clear_tags else list(tags)
        if clear_label or label is not None:
            body["label"] = label
        if batch is not None:
            body["batch"] = batch
        with OperatorClient(remote, as_json=as_json) as api:
            _print_device(api.call("PATCH", f"/devices/{device_id}", json=body), as_json)
        return

    async def run(pool: Any) -> devices_service.DeviceDetail:
        device = uuid_or_404(device_id, "Device")
        await tagging.update_device(
            pool,
            device,
            tags=[] if clear_tags else (list(tags) or None),
            label=label,
            set_label=clear_label or label is not None,
            batch=batch,
            operator=LOCAL_CLI,
        )
        return await devices_service.device_detail(pool, device)

    detail = run_with_pool(run, as_json=as_json)
    _print_device(DeviceDetail.model_validate(detail).model_dump(mode="json"), as_json)


def _print_device(view: dict[str, Any], as_json: bool) -> None:
    if as_json:
        emit_json(view)
    else:
        click.echo(
            f"{view['device_id']}\t{view['batch']}\t{' '.join(view['tags'])}\t{view['label'] or ''}"
        )


@click.command("tag")
@selector_options
@click.option("--add", multiple=True, help="Tag to add (repeatable).")
@click.option("--remove", multiple=True, help="Tag to remove (repeatable).")
@click.option("--json", "as_json", is_flag=True, help='Print {"matched": N}.')
def tag_devices(
    add: tuple[str, ...], remove: tuple[str, ...], as_json: bool, **options: Any
) -> None:
    """Add/remove tags on every device a selector matches."""
    selector = _selector(options)
    remote = remote_of()
    if remote is not None:
        body = {"selector": selector.stored(), "add": list(add), "remove": list(remove)}
        with OperatorClient(remote, as_json=as_json) as api:
            matched = api.call("POST", "/devices/tags", json=body)["matched"]
    else:
        matched = run_with_pool(
            lambda pool: tagging.retag(
                pool, selector, add=list(add), remove=list(remove), operator=LOCAL_CLI
            ),
            as_json=as_json,
        )
    if as_json:
        emit_json({"matched": matched})
    else:
        click.echo(f"matched {matched}")


@click.group()
def jobs() -> None:
    """Bulk jobs: a command or a settings change sent to a selector's devices."""


@jobs.command("create")
@selector_options
@click.option(
    "--command",
    "command_type",
    type=click.Choice(["reboot", "config_update", "diagnostics"]),
    help="Send this command.",
)
@click.option("--payload", help="The command's parameters as a JSON object.")
@click.option("--ttl", "ttl_seconds", type=click.IntRange(1, 86_400), default=86_400)
@click.option("--settings", "settings_patch", help="A settings merge patch (JSON object).")
@click.option("--json", "as_json", is_flag=True, help="Print the job as JSON.")
def create_job(
    command_type: str | None,
    payload: str | None,
    ttl_seconds: int,
    settings_patch: str | None,
    as_json: bool,
    **options: Any,
) -> None:
    """Create a job (its target set is fixed now)."""
    selector = _selector(options)
    remote = remote_of()
    if remote is not None:
        body: dict[str, Any] = {"selector": selector.stored()}
        if command_type is not None:
            command: dict[str, Any] = {"type": command_type, "ttl_seconds": ttl_seconds}
            parsed = _json_object(payload, "--payload")
            if parsed is not None:
                command["payload"] = parsed
            body["command"] = command
        if settings_patch is not None:
            body["settings"] = _json_object(settings_patch, "--settings")
        with OperatorClient(remote, as_json=as_json) as api:
            _print_remote_job(api.call("POST", "/jobs", json=body), as_json)
        return
    job = run_with_pool(
        lambda pool: jobs_service.create_job(
            pool,
            selector,
            command_type=command_type,
            payload=_json_object(payload, "--payload"),
            ttl_seconds=ttl_seconds,
            settings_patch=_json_object(settings_patch, "--settings"),
            operator=LOCAL_CLI,
        ),
        as_json=as_json,
    )
    _print_job(job, as_json)


@jobs.command("show")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
def show_job(job_id: str, as_json: bool) -> None:
    """A job and its progress counts."""
    remote = remote_of()
    if remote is not None:
        with OperatorClient(remote, as_json=as_json) as api:
            _print_remote_job(api.call("GET", f"/jobs/{_segment(job_id)}"), as_json)
        return
    job = run_with_pool(
        lambda pool: jobs_service.get_job(pool, uuid_or_404(job_id, "Job")), as_json=as_json
    )
    _print_job(job, as_json)


@jobs.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--json", "as_json", is_flag=True)
def list_jobs(limit: int, as_json: bool) -> None:
    """Jobs, newest first."""
    remote = remote_of()
    if remote is not None:
        with OperatorClient(remote, as_json=as_json) as api:
            page = api.call("GET", "/jobs", params={"limit": limit})
        if as_json:
            emit_json(page)
        else:
            for listed in page["jobs"]:
                click.echo(_job_line(listed))
        return
    found, next_cursor = run_with_pool(
        lambda pool: jobs_service.list_jobs(pool, cursor=None, limit=limit), as_json=as_json
    )
    if as_json:
        emit_json({"jobs": [_job_json(j) for j in found], "next_cursor": next_cursor})
    else:
        for job in found:
            click.echo(_job_line(_job_json(job)))


@jobs.command("cancel")
@click.argument("job_id")
@click.option("--json", "as_json", is_flag=True)
def cancel_job(job_id: str, as_json: bool) -> None:
    """Cancel every command of the job not yet answered."""
    remote = remote_of()
    if remote is not None:
        with OperatorClient(remote, as_json=as_json) as api:
            _print_remote_job(api.call("POST", f"/jobs/{_segment(job_id)}/cancel"), as_json)
        return
    job = run_with_pool(
        lambda pool: jobs_service.cancel_job(pool, uuid_or_404(job_id, "Job"), operator=LOCAL_CLI),
        as_json=as_json,
    )
    _print_job(job, as_json)


@click.group("telemetry")
def telemetry_group() -> None:
    """Telemetry."""


@telemetry_group.command("export")
@click.option("--from", "from_", help="RFC 3339, inclusive.")
@click.option("--to", help="RFC 3339, exclusive.")
@click.option("--sensor-type")
@click.option("--batch")
@click.option("--tag", "tags", multiple=True, help="Devices with every tag given (repeatable).")
@click.option(
    "--out",
    "--output",
    "-o",
    "output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the CSV to this file instead of stdout.",
)
def export_telemetry(
    from_: str | None,
    to: str | None,
    sensor_type: str | None,
    batch: str | None,
    tags: tuple[str, ...],
    output: str | None,
) -> None:
    """The fleet's readings as CSV (device_id,serial_number,sensor_id,sensor_type,timestamp,
    value), streamed to stdout or --out (never held whole in memory)."""
    remote = remote_of()
    if remote is not None:
        params = {
            "from": from_,
            "to": to,
            "sensor_type": sensor_type,
            "batch": batch,
            "tag": list(tags) or None,
        }
        with OperatorClient(remote, as_json=False) as api:
            if output is None:
                api.download("/telemetry/export", sys.stdout.buffer, params=params)
            else:
                with open(output, "wb") as sink:
                    api.download("/telemetry/export", sink, params=params)
        return

    async def run(pool: Any) -> None:
        response = await export.fleet_csv(
            pool,
            sensor_type=sensor_type,
            start=query.parse_time("from", from_),
            end=query.parse_time("to", to),
            batch=batch,
            tags=list(tags),
        )
        # The CLI process does nothing else meanwhile: a blocking file is fine here.
        sink = open(output, "wb") if output else sys.stdout.buffer  # noqa: SIM115, ASYNC230
        try:
            async for chunk in response.body_iterator:
                sink.write(chunk if isinstance(chunk, bytes) else str(chunk).encode())
        finally:
            if output:
                sink.close()
            else:
                sink.flush()

    run_with_pool(run, as_json=False)
