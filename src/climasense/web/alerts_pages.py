"""Alerts (open / acknowledged / resolved, with an acknowledge button) and the rules editor."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from climasense.web import data, format, repository, tables
from climasense.web.common import (
    SessionDep,
    checked_form,
    operator_api,
    redirect,
    render,
    services_of,
    text_field,
)
from climasense.web.views import AlertRule

router = APIRouter(include_in_schema=False)

STATES = ["open", "acknowledged", "resolved"]
OPERATORS = [">", ">=", "<", "<=", "==", "!="]
SEVERITIES = ["info", "warning", "critical"]


def _uuids(values: list[str]) -> list[UUID]:
    found = []
    for value in values:
        try:
            found.append(UUID(value))
        except ValueError:
            continue
    return found


def rule_condition(rule: AlertRule) -> str:
    if rule.kind == "device_offline":
        return "no telemetry for 3 × the reporting interval"
    sensor = rule.sensor_type or ""
    unit = format.UNITS.get(sensor, "")
    threshold = _shown(rule.threshold)
    text = f"{format.label(sensor)} {rule.op} {threshold}{(' ' + unit) if unit else ''}"
    if rule.for_seconds:
        text += f" for {rule.for_seconds} s"
    if rule.clear_threshold is not None:
        text += f" (clears at {_shown(rule.clear_threshold)})"
    return text


def _shown(value: Any) -> str:
    """A threshold as typed: `0`, not `0.0`."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def rule_scope(rule: AlertRule, serials: dict[str, str] | None = None) -> str:
    if rule.device_id:
        device_id = rule.device_id
        return f"device {(serials or {}).get(device_id, device_id)}"
    if rule.batch:
        return f"batch {rule.batch}"
    return "whole fleet"


@router.get("/alerts")
async def alerts_page(request: Request, session: SessionDep) -> Response:
    state = request.query_params.get("state", "open")
    state = state if state in STATES else "open"
    api = operator_api(request, session)
    found = await data.alerts(api, state)
    rows = None
    if found is not None:
        serials = await repository.serial_numbers(
            services_of(request).pool, _uuids([a.device_id for a in found])
        )
        rows = tables.alert_rows(found, serials)
    rules = await data.alert_rules(api)
    rule_devices = [r.device_id for r in rules or [] if r.device_id]
    rule_serials = await repository.serial_numbers(services_of(request).pool, _uuids(rule_devices))
    return render(
        request,
        "alerts.html",
        {
            "state": state,
            "states": STATES,
            "rows": rows,
            "columns": tables.ALERT_COLUMNS,
            "rules": rules,
            "rule_condition": rule_condition,
            "rule_scope": lambda rule: rule_scope(rule, rule_serials),
            "operators": OPERATORS,
            "severities": SEVERITIES,
        },
        session=session,
    )


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: str, session: SessionDep) -> Response:
    await checked_form(request, session)
    result = await data.acknowledge_alert(operator_api(request, session), alert_id)
    if result.ok:
        return redirect(request, "/alerts", ok="Alert acknowledged.")
    return redirect(request, "/alerts", error=result.message)


def _number(raw: str) -> Any:
    try:
        number = float(raw)
    except ValueError:
        return raw  # the API answers with its own 422
    return int(number) if number.is_integer() else number


def rule_body(form: Any) -> dict[str, Any]:
    """The `POST /admin/v1/alert-rules` body a submitted rule form asks for."""
    body: dict[str, Any] = {
        "name": text_field(form, "name"),
        "severity": text_field(form, "severity") or "warning",
    }
    if text_field(form, "kind") == "device_offline":
        # Takes no condition: the sensor, operator and thresholds on the form are ignored.
        body["kind"] = "device_offline"
    else:
        body["sensor_type"] = text_field(form, "sensor_type")
        body["op"] = text_field(form, "op")
        body["threshold"] = _number(text_field(form, "threshold"))
        clear = text_field(form, "clear_threshold")
        if clear:
            body["clear_threshold"] = _number(clear)
    for_seconds = text_field(form, "for_seconds")
    if for_seconds:
        body["for_seconds"] = _number(for_seconds)
    scope = text_field(form, "scope")
    if scope == "batch" and text_field(form, "batch"):
        body["batch"] = text_field(form, "batch")
    elif scope == "device" and text_field(form, "device_id"):
        body["device_id"] = text_field(form, "device_id")
    return body


@router.post("/alert-rules")
async def create_rule(request: Request, session: SessionDep) -> Response:
    form = await checked_form(request, session)
    result = await data.create_alert_rule(operator_api(request, session), rule_body(form))
    if result.ok:
        return redirect(request, "/alerts#rules", ok=f"Rule “{text_field(form, 'name')}” created.")
    return redirect(request, "/alerts#rules", error=result.message)


@router.post("/alert-rules/{rule_id}/delete")
async def delete_rule(request: Request, rule_id: str, session: SessionDep) -> Response:
    await checked_form(request, session)
    result = await data.delete_alert_rule(operator_api(request, session), rule_id)
    if result.ok:
        return redirect(request, "/alerts#rules", ok="Rule deleted.")
    return redirect(request, "/alerts#rules", error=result.message)
