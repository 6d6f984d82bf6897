"""Table rows as cells (text, optional link, class, or a one-button form), built once in Python
and used both by the templates and by the live-update JSON, so both render the same way."""

from __future__ import annotations

from typing import Any

import orjson

from climasense.web import format

Cell = dict[str, Any]
Row = dict[str, Any]


def cell(
    text: Any,
    *,
    href: str | None = None,
    cls: str | None = None,
    pre: bool = False,
    badge: str | None = None,
) -> Cell:
    found: Cell = {"text": "—" if text is None or text == "" else str(text)}
    if href:
        found["href"] = href
    if cls:
        found["cls"] = cls
    if pre:
        found["pre"] = True
    if badge:
        found["badge"] = badge
    return found


def blank() -> Cell:
    """An empty cell (no dash): a row's action column when there is nothing to do."""
    return {"text": ""}


def button(label: str, action: str) -> Cell:
    return {"text": "", "form": {"action": action, "label": label}}


def _count(value: int | None) -> Cell:
    if value is None:
        return cell("n/a", cls="muted")
    return cell(value, cls="alerting" if value else None)


def fleet_row(device: dict[str, Any]) -> Row:
    device_id = str(device["device_id"])
    online = bool(device.get("online"))
    status = device.get("status", "active")
    state = "revoked" if status != "active" else "online" if online else "offline"
    return {
        "id": device_id,
        "cells": [
            cell(device.get("serial_number"), href=f"/devices/{device_id}"),
            cell(state, badge=state),
            cell(device.get("kind")),
            cell(device.get("model")),
            cell(device.get("batch")),
            cell(format.ago(device.get("last_seen_at"))),
            cell(format.reading("battery_level", device.get("battery_level"))),
            cell(format.reading("signal_strength", device.get("signal_strength"))),
            cell(device.get("firmware_version")),
            _count(device.get("open_alerts")),
            cell(device.get("label")),
            cell(" ".join(device.get("tags") or [])),
        ],
    }


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


def reading_rows(latest: list[dict[str, Any]]) -> list[Row]:
    return [
        {
            "id": r.get("sensor_type"),
            "cells": [
                cell(format.label(str(r.get("sensor_type")))),
                cell(format.reading(str(r.get("sensor_type")), r.get("value")), cls="value"),
                cell(format.ago(r.get("timestamp"))),
            ],
        }
        for r in latest
    ]


def _finished_at(command: dict[str, Any]) -> Any:
    """When the command reached its final state (acked, failed, expired or cancelled)."""
    for key in ("acked_at", "failed_at", "cancelled_at", "expired_at"):
        if command.get(key):
            return command[key]
    return None


def _result_text(command: dict[str, Any]) -> str:
    result = command.get("result")
    parts = []
    if command.get("type") == "config_update" and command.get("settings_version") is not None:
        parts.append(f"settings version {command['settings_version']}")
    if command.get("cancel_reason"):
        parts.append(f"cancelled ({command['cancel_reason']})")
    if command.get("error_message"):
        parts.append(str(command["error_message"]))
    if result not in (None, {}, ""):
        parts.append(orjson.dumps(result, option=orjson.OPT_INDENT_2).decode())
    return "\n".join(parts)


FINAL_COMMAND_STATES = {"acked", "failed", "cancelled", "expired"}


def command_rows(
    commands: list[dict[str, Any]], device_id: str, by: dict[str, str] | None = None
) -> list[Row]:
    rows = []
    for command in commands:
        command_id = str(command.get("command_id"))
        status = str(command.get("status") or "pending")
        action = (
            button("Cancel", f"/devices/{device_id}/commands/{command_id}/cancel")
            if status not in FINAL_COMMAND_STATES
            else blank()
        )
        rows.append(
            {
                "id": command_id,
                "cells": [
                    cell(command.get("type")),
                    cell(status, badge=f"cmd-{status}"),
                    cell(format.timestamp(command.get("created_at"))),
                    cell(format.timestamp(command.get("delivered_at"))),
                    cell(format.timestamp(_finished_at(command))),
                    cell(_result_text(command), pre=True),
                    cell((by or {}).get(command_id)),
                    action,
                ],
            }
        )
    return rows


COMMAND_COLUMNS = ["Type", "Status", "Created", "Delivered", "Finished", "Result", "By", ""]


def sensor_rows(sensors: list[dict[str, Any]]) -> list[Row]:
    return [
        {
            "id": str(s.get("sensor_id")),
            "cells": [
                cell(s.get("serial_number"), href=f"/devices/{s.get('sensor_id')}"),
                cell(s.get("ieee_address")),
                cell(format.ago(s.get("last_seen_at"))),
                cell(format.timestamp(s.get("paired_at"))),
            ],
        }
        for s in sensors
    ]


SENSOR_COLUMNS = ["Serial", "IEEE address", "Last seen", "Paired"]


def alert_rows(alerts: list[dict[str, Any]], serials: dict[str, str]) -> list[Row]:
    rows = []
    for alert in alerts:
        alert_id = str(alert.get("alert_id"))
        device_id = str(alert.get("device_id"))
        state = str(alert.get("state"))
        sensor_type = str(alert.get("sensor_type") or "")
        action = (
            button("Acknowledge", f"/alerts/{alert_id}/acknowledge") if state == "open" else blank()
        )
        rows.append(
            {
                "id": alert_id,
                "cells": [
                    cell(alert.get("severity"), badge=f"sev-{alert.get('severity')}"),
                    cell(serials.get(device_id, device_id), href=f"/devices/{device_id}"),
                    cell(format.label(sensor_type) if sensor_type else "device offline"),
                    cell(format.reading(sensor_type, alert.get("value"))),
                    cell(format.timestamp(alert.get("opened_at"))),
                    cell(format.timestamp(alert.get("resolved_at"))),
                    cell(state, badge=f"alert-{state}"),
                    action,
                ],
            }
        )
    return rows


ALERT_COLUMNS = ["Severity", "Device", "Sensor", "Value", "Opened", "Resolved", "State", ""]
