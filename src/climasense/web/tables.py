"""Table rows as cells (text, optional link, class, or a one-button form), built once in Python
and used both by the templates and by the live-update JSON, so both render the same way."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

from climasense.web import format
from climasense.web.views import Alert, Command, FleetDevice, LatestReading, PairedSensor


@dataclass(frozen=True, slots=True)
class ButtonForm:
    action: str
    label: str


@dataclass(frozen=True, slots=True)
class Cell:
    text: str
    href: str | None = None
    cls: str | None = None
    pre: bool = False
    badge: str | None = None
    form: ButtonForm | None = None

    def as_json(self) -> dict[str, Any]:
        """The cell as the live update sends it: `text`, and only the options it has."""
        found: dict[str, Any] = {"text": self.text}
        if self.href:
            found["href"] = self.href
        if self.cls:
            found["cls"] = self.cls
        if self.pre:
            found["pre"] = True
        if self.badge:
            found["badge"] = self.badge
        if self.form is not None:
            found["form"] = {"action": self.form.action, "label": self.form.label}
        return found


@dataclass(frozen=True, slots=True)
class Row:
    id: str
    cells: tuple[Cell, ...]

    def as_json(self) -> dict[str, Any]:
        return {"id": self.id, "cells": [c.as_json() for c in self.cells]}


def as_json(rows: Iterable[Row]) -> list[dict[str, Any]]:
    """Rows for a page's live-update JSON (the same structure `_table.html` renders)."""
    return [row.as_json() for row in rows]


def cell(
    text: Any,
    *,
    href: str | None = None,
    cls: str | None = None,
    pre: bool = False,
    badge: str | None = None,
) -> Cell:
    return Cell(
        text="—" if text is None or text == "" else str(text),
        href=href or None,
        cls=cls or None,
        pre=pre,
        badge=badge or None,
    )


def blank() -> Cell:
    """An empty cell (no dash): a row's action column when there is nothing to do."""
    return Cell(text="")


def button(label: str, action: str) -> Cell:
    return Cell(text="", form=ButtonForm(action=action, label=label))


def _count(value: int | None) -> Cell:
    if value is None:
        return cell("n/a", cls="muted")
    return cell(value, cls="alerting" if value else None)


def fleet_row(row: FleetDevice) -> Row:
    device = row.device
    device_id = device.device_id
    status = device.status
    state = "revoked" if status != "active" else "online" if device.online else "offline"
    return Row(
        id=device_id,
        cells=(
            cell(device.serial_number, href=f"/devices/{device_id}"),
            cell(state, badge=state),
            cell(device.kind),
            cell(device.model),
            cell(device.batch),
            cell(format.ago(device.last_seen_at)),
            cell(format.reading("battery_level", row.battery_level)),
            cell(format.reading("signal_strength", row.signal_strength)),
            cell(device.firmware_version),
            _count(row.open_alerts),
            cell(device.label),
            cell(" ".join(device.tags)),
        ),
    )


FLEET_COLUMNS = [
    "Serial",
    "State",
    "Kind",
    "Model",
    "Batch",
    "Last seen",
    "Battery",
    "Signal",
    "Firmware",
    "Open alerts",
    "Label",
    "Tags",
]


def reading_rows(latest: Iterable[LatestReading]) -> list[Row]:
    return [
        Row(
            id=r.sensor_type,
            cells=(
                cell(format.label(r.sensor_type)),
                cell(format.reading(r.sensor_type, r.value), cls="value"),
                cell(format.ago(r.timestamp)),
            ),
        )
        for r in latest
    ]


def _finished_at(command: Command) -> str | None:
    """When the command reached its final state (acked, failed, expired or cancelled)."""
    return (
        command.acked_at or command.failed_at or command.cancelled_at or command.expired_at or None
    )


def _result_text(command: Command) -> str:
    result = command.result
    parts = []
    if command.type == "config_update" and command.settings_version is not None:
        parts.append(f"settings version {command.settings_version}")
    if command.cancel_reason:
        parts.append(f"cancelled ({command.cancel_reason})")
    if command.error_message:
        parts.append(str(command.error_message))
    if result not in (None, {}, ""):
        parts.append(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return "\n".join(parts)


FINAL_COMMAND_STATES = {"acked", "failed", "cancelled", "expired"}


def command_rows(
    commands: Iterable[Command], device_id: str, by: dict[str, str] | None = None
) -> list[Row]:
    rows = []
    for command in commands:
        command_id = command.command_id
        status = command.status or "pending"
        action = (
            button("Cancel", f"/devices/{device_id}/commands/{command_id}/cancel")
            if status not in FINAL_COMMAND_STATES
            else blank()
        )
        rows.append(
            Row(
                id=command_id,
                cells=(
                    cell(command.type),
                    cell(status, badge=f"cmd-{status}"),
                    cell(format.timestamp(command.created_at)),
                    cell(format.timestamp(command.delivered_at)),
                    cell(format.timestamp(_finished_at(command))),
                    cell(_result_text(command), pre=True),
                    cell((by or {}).get(command_id)),
                    action,
                ),
            )
        )
    return rows


COMMAND_COLUMNS = ["Type", "Status", "Created", "Delivered", "Finished", "Result", "By", ""]


def sensor_rows(sensors: Iterable[PairedSensor]) -> list[Row]:
    return [
        Row(
            id=s.sensor_id,
            cells=(
                cell(s.serial_number, href=f"/devices/{s.sensor_id}"),
                cell(s.ieee_address),
                cell(format.ago(s.last_seen_at)),
                cell(format.timestamp(s.paired_at)),
            ),
        )
        for s in sensors
    ]


SENSOR_COLUMNS = ["Serial", "IEEE address", "Last seen", "Paired"]


def alert_rows(alerts: Iterable[Alert], serials: dict[str, str]) -> list[Row]:
    rows = []
    for alert in alerts:
        alert_id = alert.alert_id
        device_id = alert.device_id
        state = alert.state
        sensor_type = alert.sensor_type or ""
        action = (
            button("Acknowledge", f"/alerts/{alert_id}/acknowledge") if state == "open" else blank()
        )
        rows.append(
            Row(
                id=alert_id,
                cells=(
                    cell(alert.severity, badge=f"sev-{alert.severity}"),
                    cell(serials.get(device_id, device_id), href=f"/devices/{device_id}"),
                    cell(format.label(sensor_type) if sensor_type else "device offline"),
                    cell(format.reading(sensor_type, alert.value)),
                    cell(format.timestamp(alert.opened_at)),
                    cell(format.timestamp(alert.resolved_at)),
                    cell(state, badge=f"alert-{state}"),
                    action,
                ),
            )
        )
    return rows


ALERT_COLUMNS = ["Severity", "Device", "Sensor", "Value", "Opened", "Resolved", "State", ""]
