"""What each page reads and does, in the operator API's terms (CONTRACT §5/§6).

Every read returns view objects (`views.py` reads the API's JSON into them), or `None` when
the API answered with an error (the resource is not found, the database is unavailable, …):
the page shows its empty state. Every action
returns the API's `ApiResult`, whose error message the page shows as it is; what an action
sends is the API's JSON request body (a merge patch, a command payload, a rule), built by the
page from its form.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import asyncpg

from climasense.web import repository
from climasense.web.operator_api import ApiResult, OperatorAPI
from climasense.web.views import (
    Alert,
    AlertRule,
    Bucket,
    Command,
    DeviceDetail,
    DeviceSettings,
    DeviceSummary,
    FirmwareImage,
    FleetCounts,
    FleetDevice,
    Release,
)

FLEET_PAGE_SIZE = 50
# The firmware page shows (and polls) this many of the newest releases.
RELEASES_SHOWN = 20
# Open alerts are read in pages of this size, up to this many pages, for the fleet counts.
_ALERT_PAGE = 1000
_ALERT_PAGES = 10

# Chart ranges and the bucket width asked of the telemetry query for each.
RANGES: dict[str, tuple[timedelta, str, timedelta]] = {
    "24h": (timedelta(hours=24), "5m", timedelta(minutes=5)),
    "7d": (timedelta(days=7), "1h", timedelta(hours=1)),
    "30d": (timedelta(days=30), "1d", timedelta(days=1)),
}


@dataclass(frozen=True, slots=True)
class FleetFilter:
    batch: str | None = None
    kind: str | None = None
    model: str | None = None
    online: bool | None = None
    tags: tuple[str, ...] = ()
    label: str | None = None

    def params(self) -> dict[str, str | list[str] | None]:
        """The filter as `GET /admin/v1/devices` query parameters (None: not sent)."""
        online = None if self.online is None else str(self.online).lower()
        return {
            "batch": self.batch,
            "kind": self.kind,
            "model": self.model,
            "online": online,
            "tag": list(self.tags) or None,
            "label": self.label,
        }

    def selector(self) -> dict[str, str | list[str]]:
        """The filter as a job/bulk-tag selector (`online` and `label` are not selector
        conditions: a bulk action from a filter using them is refused by the page)."""
        selector: dict[str, str | list[str] | None] = {
            "batch": self.batch,
            "model": self.model,
            "kind": self.kind,
        }
        if self.tags:
            selector["tags_all"] = list(self.tags)
        return {k: v for k, v in selector.items() if v}


# -- fleet ---------------------------------------------------------------------------------


async def open_alerts_by_device(api: OperatorAPI) -> dict[str, int] | None:
    """Open alerts per device id (`None` when this server has no alerts)."""
    counts: dict[str, int] = {}
    cursor: str | None = None
    for _ in range(_ALERT_PAGES):
        result = await api.get("/admin/v1/alerts", state="open", limit=_ALERT_PAGE, cursor=cursor)
        if not result.ok or not isinstance(result.body, dict):
            return counts or None
        for alert in result.body.get("alerts") or []:
            device_id = str(alert.get("device_id"))
            counts[device_id] = counts.get(device_id, 0) + 1
        cursor = result.body.get("next_cursor")
        if not cursor:
            break
    return counts


async def fleet_counts(pool: asyncpg.Pool, alerting: dict[str, int] | None) -> FleetCounts:
    counts = await repository.fleet_counts(pool)
    return FleetCounts(
        total=counts["total"],
        online=counts["online"],
        offline=counts["offline"],
        alerting=None if alerting is None else len(alerting),
    )


async def fleet_page(
    api: OperatorAPI,
    pool: asyncpg.Pool,
    filters: FleetFilter,
    cursor: str | None,
    alerting: dict[str, int] | None,
) -> tuple[list[FleetDevice], str | None, str | None]:
    """One page of the device table: (rows, next cursor, error message)."""
    result = await api.get(
        "/admin/v1/devices", **filters.params(), cursor=cursor, limit=FLEET_PAGE_SIZE
    )
    if not result.ok or not isinstance(result.body, dict):
        return [], None, result.message
    listed = [DeviceSummary.from_json(d) for d in result.body.get("devices") or []]
    ids = [UUID(d.device_id) for d in listed]
    latest = await repository.latest_values(pool, ids, ["battery_level", "signal_strength"])
    rows = []
    for device in listed:
        values = latest.get(UUID(device.device_id), {})
        rows.append(
            FleetDevice(
                device=device,
                battery_level=values.get("battery_level"),
                signal_strength=values.get("signal_strength"),
                open_alerts=None if alerting is None else alerting.get(device.device_id, 0),
            )
        )
    return rows, result.body.get("next_cursor"), None


# -- one device ------------------------------------------------------------------------------


async def device(api: OperatorAPI, device_id: str) -> DeviceDetail | None:
    result = await api.get(f"/admin/v1/devices/{device_id}")
    ok = result.ok and isinstance(result.body, dict)
    return DeviceDetail.from_json(result.body) if ok else None


async def device_settings(api: OperatorAPI, device_id: str) -> DeviceSettings | None:
    result = await api.get(f"/admin/v1/devices/{device_id}/settings")
    ok = result.ok and isinstance(result.body, dict)
    return DeviceSettings.from_json(result.body) if ok else None


async def chart_buckets(
    api: OperatorAPI, device_id: str, range_name: str, *, now: datetime | None = None
) -> tuple[dict[str, list[Bucket]] | None, datetime, datetime]:
    """Buckets per sensor type over the range, and the range's bounds."""
    span, bucket, _ = RANGES[range_name]
    end = now or datetime.now(UTC)
    start = end - span
    result = await api.get(
        f"/admin/v1/devices/{device_id}/telemetry",
        bucket=bucket,
        **{"from": start.isoformat(), "to": end.isoformat()},
        limit=10000,
    )
    if not result.ok or not isinstance(result.body, dict):
        return None, start, end
    by_type: dict[str, list[Bucket]] = {}
    for entry in result.body.get("buckets") or []:
        by_type.setdefault(str(entry.get("sensor_type")), []).append(Bucket.from_json(entry))
    return by_type, start, end


async def commands(api: OperatorAPI, device_id: str) -> list[Command] | None:
    result = await api.get(f"/admin/v1/devices/{device_id}/commands", limit=50)
    if not result.ok or not isinstance(result.body, dict):
        return None
    history = [Command.from_json(c) for c in result.body.get("commands") or []]
    # Newest first on the page, whatever order the API lists them in.
    history.sort(key=lambda c: c.created_at or "", reverse=True)
    return history


async def send_command(
    api: OperatorAPI,
    device_id: str,
    command_type: str,
    payload: dict[str, Any] | None,
    ttl_seconds: int | None,
    confirm: str | None,
) -> ApiResult:
    body: dict[str, Any] = {"type": command_type}
    if payload:
        body["payload"] = payload
    if ttl_seconds:
        body["ttl_seconds"] = ttl_seconds
    if confirm:
        body["confirm"] = confirm
    return await api.call("POST", f"/admin/v1/devices/{device_id}/commands", json=body)


async def cancel_command(api: OperatorAPI, command_id: str) -> ApiResult:
    return await api.call("POST", f"/admin/v1/commands/{command_id}/cancel")


async def patch_settings(
    api: OperatorAPI, device_id: str, patch: dict[str, Any], version: int | None
) -> ApiResult:
    headers = {"If-Match": f'"{version}"'} if version is not None else None
    return await api.call(
        "PATCH", f"/admin/v1/devices/{device_id}/settings", json=patch, headers=headers
    )


# -- alerts ----------------------------------------------------------------------------------


async def alerts(api: OperatorAPI, state: str) -> list[Alert] | None:
    result = await api.get("/admin/v1/alerts", state=state, limit=200)
    if not result.ok or not isinstance(result.body, dict):
        return None
    return [Alert.from_json(a) for a in result.body.get("alerts") or []]


async def acknowledge_alert(api: OperatorAPI, alert_id: str) -> ApiResult:
    return await api.call("POST", f"/admin/v1/alerts/{alert_id}/acknowledge")


async def alert_rules(api: OperatorAPI) -> list[AlertRule] | None:
    result = await api.get("/admin/v1/alert-rules", limit=500)
    if not result.ok or not isinstance(result.body, dict):
        return None
    return [AlertRule.from_json(r) for r in result.body.get("rules") or []]


async def create_alert_rule(api: OperatorAPI, rule: dict[str, Any]) -> ApiResult:
    return await api.call("POST", "/admin/v1/alert-rules", json=rule)


async def delete_alert_rule(api: OperatorAPI, rule_id: str) -> ApiResult:
    return await api.call("DELETE", f"/admin/v1/alert-rules/{rule_id}")


# -- firmware --------------------------------------------------------------------------------


async def firmware_images(api: OperatorAPI) -> list[FirmwareImage] | None:
    """Uploaded images, if the server lists them (`GET /admin/v1/firmware`)."""
    result = await api.get("/admin/v1/firmware")
    if not result.ok or not isinstance(result.body, dict):
        return None
    return [FirmwareImage.from_json(i) for i in result.body.get("firmware") or []]


async def releases(api: OperatorAPI, wanted: list[str]) -> list[Release] | None:
    """The newest releases (`GET /admin/v1/releases`), plus the ones named in `wanted` (a
    release just created, or one an operator follows by link) read one by one if older."""
    found: dict[str, Release] = {}
    listed = await api.get("/admin/v1/releases", limit=RELEASES_SHOWN)
    if listed.ok and isinstance(listed.body, dict):
        for listed_release in listed.body.get("releases") or []:
            view = Release.from_json(listed_release)
            found[view.release_id] = view
    for release_id in wanted:
        if release_id in found:
            continue
        one = await release(api, release_id)
        if one is not None:
            found[release_id] = one
    if not found and not listed.ok:
        return None
    return sorted(found.values(), key=lambda r: r.created_at or "", reverse=True)


async def release(api: OperatorAPI, release_id: str) -> Release | None:
    result = await api.get(f"/admin/v1/releases/{release_id}")
    ok = result.ok and isinstance(result.body, dict)
    return Release.from_json(result.body) if ok else None


async def upload_firmware(
    api: OperatorAPI,
    model: str,
    version: str,
    release_notes: str,
    image: AsyncIterator[bytes],
    signature: str = "",
) -> ApiResult:
    return await api.call(
        "PUT",
        f"/admin/v1/firmware/{model}/{version}",
        params={"release_notes": release_notes or None, "signature": signature or None},
        content=image,
        content_type="application/octet-stream",
    )


async def create_release(
    api: OperatorAPI,
    model: str,
    version: str,
    batches: list[str],
    threshold: float | None,
    *,
    tags_any: list[str] | None = None,
    percentage: Any = None,
) -> ApiResult:
    body: dict[str, Any] = {"batches": batches}
    if threshold is not None:
        body["failure_threshold_percent"] = threshold
    if tags_any:
        body["selector"] = {"tags_any": tags_any}
    if percentage is not None:
        body["percentage"] = percentage
    return await api.call("POST", f"/admin/v1/firmware/{model}/{version}/releases", json=body)


async def set_release_state(
    api: OperatorAPI, release_id: str, model: str, version: str, action: str
) -> ApiResult:
    """Pause or resume a release (by its model and version's path when the form gave them)."""
    if model and version:
        path = f"/admin/v1/firmware/{model}/{version}/releases/{release_id}/{action}"
    else:
        path = f"/admin/v1/releases/{release_id}/{action}"
    return await api.call("POST", path)
