"""Operator commands that work through the operator API (`--url`/`--token`): devices, alerts
and rules, webhooks, tokens, audit, and the remote form of the commands that also have a local
database mode (cli/devices.py, commands.py, settings.py, firmware.py call `remote_*` here when
a URL is given)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import click

from climasense.auth.roles import ROLES
from climasense.cli.output import emit_json
from climasense.cli.remote import OperatorClient, Remote, client, emit

_JSON = click.option("--json", "as_json", is_flag=True, help="Print the response as JSON.")
_DEVICE_COLUMNS = ("device_id", "serial_number", "kind", "model", "batch", "status")
_COMMAND_COLUMNS = ("command_id", "type", "status", "created_at")
_RELEASE_COLUMNS = ("release_id", "model", "version", "state", "batches")
_TOKEN_COLUMNS = ("token_id", "name", "role", "expires_at", "last_used_at", "revoked_at")


def _segment(value: str) -> str:
    return quote(value, safe="")


# --- remote forms of the commands that also run locally ---------------------------------------


def remote_provision(
    remote: Remote, *, kind: str, model: str, batch: str, count: int, as_json: bool
) -> list[dict[str, Any]]:
    created: list[dict[str, Any]] = []
    with OperatorClient(remote, as_json=as_json) as api:
        while len(created) < count:
            chunk = min(1000, count - len(created))
            body = api.call(
                "POST",
                "/devices",
                json={"kind": kind, "model": model, "batch": batch, "count": chunk},
            )
            created += body["devices"]
    return created


def remote_call(remote: Remote, method: str, path: str, *, as_json: bool, **kwargs: Any) -> Any:
    with OperatorClient(remote, as_json=as_json) as api:
        return api.call(method, path, **kwargs)


def remote_upload(
    remote: Remote,
    *,
    model: str,
    version: str,
    path: Path,
    notes: str | None,
    signature: str | None,
    as_json: bool,
) -> Any:
    def chunks() -> Iterator[bytes]:
        with path.open("rb") as handle:
            while chunk := handle.read(1024 * 1024):
                yield chunk

    with OperatorClient(remote, as_json=as_json, timeout=600) as api:
        return api.call(
            "PUT",
            f"/firmware/{_segment(model)}/{_segment(version)}",
            params={"release_notes": notes, "signature": signature},
            content=chunks(),
            headers={
                "Content-Type": "application/octet-stream",
                "Content-Length": str(path.stat().st_size),
            },
        )


# --- devices (added to the `devices` group) ----------------------------------------------------


@click.command("list")
@click.option("--batch")
@click.option("--kind", type=click.Choice(["standalone", "hub", "zigbee_sensor"]))
@click.option("--model")
@click.option("--online", type=bool, default=None)
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def devices_list(
    batch: str | None,
    kind: str | None,
    model: str | None,
    online: bool | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """List devices (one page; pass next_cursor back with --cursor)."""
    params = {"batch": batch, "kind": kind, "model": model, "limit": limit, "cursor": cursor}
    if online is not None:
        params["online"] = str(online).lower()
    with client(as_json=as_json) as api:
        body = api.call("GET", "/devices", params=params)
    emit(body, as_json=as_json, columns=_DEVICE_COLUMNS, key="devices")


@click.command("show")
@click.argument("device_id")
@_JSON
def devices_show(device_id: str, as_json: bool) -> None:
    """A device's status, last contact, firmware, latest readings and open alerts."""
    with client(as_json=as_json) as api:
        body = api.call("GET", f"/devices/{_segment(device_id)}")
    if as_json:
        emit_json(body)
    else:
        for key, value in body.items():
            click.echo(f"{key}\t{value}")


@click.command("revoke")
@click.argument("device_id")
@_JSON
def devices_revoke(device_id: str, as_json: bool) -> None:
    """Revoke a device's key (refused everywhere within 5 s)."""
    with client(as_json=as_json) as api:
        body = api.call("POST", f"/devices/{_segment(device_id)}/revoke")
    emit(body, as_json=as_json, columns=("device_id", "status"))


@click.command("rotate-key")
@click.argument("device_id")
@_JSON
def devices_rotate_key(device_id: str, as_json: bool) -> None:
    """Issue a new key for a device (printed once); the old one stops working."""
    with client(as_json=as_json) as api:
        body = api.call("POST", f"/devices/{_segment(device_id)}/rotate-key")
    emit(body, as_json=as_json, columns=("device_id", "api_key"))


# --- firmware releases (added to the `firmware` group) -----------------------------------------


def _release_action(verb: str) -> click.Command:
    @click.command(verb)
    @click.argument("release_id")
    @_JSON
    def command(release_id: str, as_json: bool) -> None:
        with client(as_json=as_json) as api:
            release = api.call("GET", f"/releases/{_segment(release_id)}")
            body = api.call(
                "POST",
                f"/firmware/{_segment(release['model'])}/{_segment(release['version'])}"
                f"/releases/{_segment(release_id)}/{verb}",
            )
        emit(body, as_json=as_json, columns=_RELEASE_COLUMNS)

    command.help = f"{verb.capitalize()} a staged release."
    return command


@click.command("releases")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def firmware_releases(limit: int, cursor: str | None, as_json: bool) -> None:
    """List releases."""
    with client(as_json=as_json) as api:
        body = api.call("GET", "/releases", params={"limit": limit, "cursor": cursor})
    emit(body, as_json=as_json, columns=_RELEASE_COLUMNS, key="releases")


FIRMWARE_COMMANDS = [
    _release_action("pause"),
    _release_action("resume"),
    _release_action("cancel"),
    firmware_releases,
]
DEVICE_COMMANDS = [devices_list, devices_show, devices_revoke, devices_rotate_key]


# --- alerts and rules --------------------------------------------------------------------------


@click.group()
def alerts() -> None:
    """Alerts and alert rules (through the operator API)."""


@alerts.command("list")
@click.option("--state", type=click.Choice(["open", "acknowledged", "resolved"]))
@click.option("--device", "device_id")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def alerts_list(
    state: str | None, device_id: str | None, limit: int, cursor: str | None, as_json: bool
) -> None:
    """List alerts, newest first."""
    params = {"state": state, "device_id": device_id, "limit": limit, "cursor": cursor}
    with client(as_json=as_json) as api:
        body = api.call("GET", "/alerts", params=params)
    emit(
        body,
        as_json=as_json,
        columns=("alert_id", "device_id", "severity", "state", "opened_at"),
        key="alerts",
    )


@alerts.command("acknowledge")
@click.argument("alert_id")
@_JSON
def alerts_acknowledge(alert_id: str, as_json: bool) -> None:
    """Acknowledge an open alert."""
    with client(as_json=as_json) as api:
        body = api.call("POST", f"/alerts/{_segment(alert_id)}/acknowledge")
    emit(body, as_json=as_json, columns=("alert_id", "state", "acknowledged_at"))


@alerts.group("rules")
def rules() -> None:
    """Alert rules."""


_RULE_COLUMNS = ("rule_id", "name", "kind", "sensor_type", "op", "threshold", "severity")


@rules.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def rules_list(limit: int, cursor: str | None, as_json: bool) -> None:
    """List alert rules."""
    with client(as_json=as_json) as api:
        body = api.call("GET", "/alert-rules", params={"limit": limit, "cursor": cursor})
    emit(body, as_json=as_json, columns=_RULE_COLUMNS, key="rules")


@rules.command("create")
@click.option("--name", required=True)
@click.option("--kind", type=click.Choice(["threshold", "device_offline"]), default="threshold")
@click.option("--sensor-type")
@click.option("--op", type=click.Choice([">", ">=", "<", "<=", "==", "!="]))
@click.option("--threshold", type=float)
@click.option("--clear-threshold", type=float)
@click.option("--for-seconds", type=int, default=0, show_default=True)
@click.option("--severity", type=click.Choice(["info", "warning", "critical"]), required=True)
@click.option("--batch")
@click.option("--device", "device_id")
@_JSON
def rules_create(
    name: str,
    kind: str,
    sensor_type: str | None,
    op: str | None,
    threshold: float | None,
    clear_threshold: float | None,
    for_seconds: int,
    severity: str,
    batch: str | None,
    device_id: str | None,
    as_json: bool,
) -> None:
    """Create an alert rule."""
    rule = {
        "name": name,
        "kind": kind,
        "sensor_type": sensor_type,
        "op": op,
        "threshold": threshold,
        "clear_threshold": clear_threshold,
        "for_seconds": for_seconds,
        "severity": severity,
        "batch": batch,
        "device_id": device_id,
    }
    with client(as_json=as_json) as api:
        body = api.call(
            "POST", "/alert-rules", json={k: v for k, v in rule.items() if v is not None}
        )
    emit(body, as_json=as_json, columns=_RULE_COLUMNS)


@rules.command("delete")
@click.argument("rule_id")
@_JSON
def rules_delete(rule_id: str, as_json: bool) -> None:
    """Delete an alert rule (its open alerts resolve)."""
    with client(as_json=as_json) as api:
        api.call("DELETE", f"/alert-rules/{_segment(rule_id)}")
    if as_json:
        emit_json({"rule_id": rule_id, "deleted": True})


# --- webhooks ----------------------------------------------------------------------------------


@click.group()
def webhooks() -> None:
    """Webhook endpoints (through the operator API)."""


@webhooks.command("create")
@click.option("--url", "endpoint", required=True, help="http(s) URL events are POSTed to.")
@click.option("--secret", required=True, help="Signs every event; never shown again.")
@_JSON
def webhooks_create(endpoint: str, secret: str, as_json: bool) -> None:
    """Register a webhook."""
    with client(as_json=as_json) as api:
        body = api.call("POST", "/webhooks", json={"url": endpoint, "secret": secret})
    emit(body, as_json=as_json, columns=("webhook_id", "url", "created_at"))


@webhooks.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def webhooks_list(limit: int, cursor: str | None, as_json: bool) -> None:
    """List webhooks (never their secrets)."""
    with client(as_json=as_json) as api:
        body = api.call("GET", "/webhooks", params={"limit": limit, "cursor": cursor})
    emit(body, as_json=as_json, columns=("webhook_id", "url", "created_at"), key="webhooks")


@webhooks.command("delete")
@click.argument("webhook_id")
@_JSON
def webhooks_delete(webhook_id: str, as_json: bool) -> None:
    """Stop sending to a webhook."""
    with client(as_json=as_json) as api:
        api.call("DELETE", f"/webhooks/{_segment(webhook_id)}")
    if as_json:
        emit_json({"webhook_id": webhook_id, "deleted": True})


# --- tokens and whoami -------------------------------------------------------------------------


@click.group()
def tokens() -> None:
    """Operator tokens (admin only; through the operator API)."""


@tokens.command("create")
@click.option("--name", required=True)
@click.option("--role", type=click.Choice(ROLES), required=True)
@click.option("--expires-in-days", type=click.IntRange(1, 36_500), default=None)
@_JSON
def tokens_create(name: str, role: str, expires_in_days: int | None, as_json: bool) -> None:
    """Create a token; the secret is printed once."""
    payload: dict[str, Any] = {"name": name, "role": role}
    if expires_in_days is not None:
        payload["expires_at"] = (datetime.now(UTC) + timedelta(days=expires_in_days)).isoformat()
    with client(as_json=as_json) as api:
        body = api.call("POST", "/tokens", json=payload)
    if as_json:
        emit_json(body)
    else:
        click.echo(body["token"])
        click.echo(f"token_id {body['token_id']} ({body['role']})", err=True)


@tokens.command("list")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def tokens_list(limit: int, cursor: str | None, as_json: bool) -> None:
    """List tokens (never a secret)."""
    with client(as_json=as_json) as api:
        body = api.call("GET", "/tokens", params={"limit": limit, "cursor": cursor})
    emit(body, as_json=as_json, columns=_TOKEN_COLUMNS, key="tokens")


@tokens.command("revoke")
@click.argument("token_id")
@_JSON
def tokens_revoke(token_id: str, as_json: bool) -> None:
    """Revoke a token: it and its dashboard sessions stop working within 5 s."""
    with client(as_json=as_json) as api:
        api.call("DELETE", f"/tokens/{_segment(token_id)}")
    if as_json:
        emit_json({"token_id": token_id, "revoked": True})


@click.command("whoami")
@_JSON
def whoami(as_json: bool) -> None:
    """The token the CLI uses: its name, role and expiry."""
    with client(as_json=as_json) as api:
        body = api.call("GET", "/whoami")
    emit(body, as_json=as_json, columns=("token_id", "name", "role", "expires_at"))


# --- audit -------------------------------------------------------------------------------------


@click.group()
def audit() -> None:
    """The audit trail of operator changes (admin only)."""


@audit.command("list")
@click.option("--actor", "actor_token_id", help="Only changes made with this token id.")
@click.option("--action", help="e.g. device.revoke")
@click.option("--target", "target_id")
@click.option("--from", "since", help="RFC 3339 time (inclusive).")
@click.option("--to", "until", help="RFC 3339 time (exclusive).")
@click.option("--limit", type=click.IntRange(1, 1000), default=100, show_default=True)
@click.option("--cursor")
@_JSON
def audit_list(
    actor_token_id: str | None,
    action: str | None,
    target_id: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    cursor: str | None,
    as_json: bool,
) -> None:
    """Entries newest first."""
    params = {
        "actor_token_id": actor_token_id,
        "action": action,
        "target_id": target_id,
        "from": since,
        "to": until,
        "limit": limit,
        "cursor": cursor,
    }
    with client(as_json=as_json) as api:
        body = api.call("GET", "/audit", params=params)
    if as_json:
        emit_json(body)
        return
    for entry in body["entries"]:
        actor = entry["actor"]
        click.echo(
            f"{entry['at']}\t{actor['name']} ({actor['role']})\t{entry['action']}\t"
            f"{entry['target_type']}:{entry['target_id']}"
        )
