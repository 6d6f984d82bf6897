"""The fleet page (`/`): counts, and a filterable, paginated device table, kept live."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from climasense.http.responses import JSONResponse
from climasense.web import data, tables
from climasense.web.common import SessionDep, operator_api, render, services_of
from climasense.web.sessions import DashboardSession
from climasense.web.views import FleetCounts

router = APIRouter(include_in_schema=False)

_KINDS = {"standalone", "hub", "zigbee_sensor"}


def fleet_filter(request: Request) -> data.FleetFilter:
    """The fleet page's filter from its query string (also used by bulk actions and CSV)."""
    return _filters(request)


def _filters(request: Request) -> data.FleetFilter:
    q = request.query_params
    online = {"online": True, "offline": False}.get(q.get("state", ""))
    kind = q.get("kind") or None
    return data.FleetFilter(
        batch=(q.get("batch") or "").strip() or None,
        kind=kind if kind in _KINDS else None,
        model=(q.get("model") or "").strip() or None,
        online=online,
        tags=tuple((q.get("tag") or "").split()),
        label=(q.get("label") or "").strip() or None,
    )


@dataclass(frozen=True, slots=True)
class FleetView:
    """The fleet page's data, for the page and its live update alike."""

    counts: FleetCounts
    rows: list[tables.Row]
    next_cursor: str | None
    error: str | None
    filters: data.FleetFilter
    cursor: str | None


async def _fleet(request: Request, session: DashboardSession) -> FleetView:
    api = operator_api(request, session)
    pool = services_of(request).pool
    filters = _filters(request)
    cursor = request.query_params.get("cursor") or None
    alerting = await data.open_alerts_by_device(api)
    counts = await data.fleet_counts(pool, alerting)
    devices, next_cursor, error = await data.fleet_page(api, pool, filters, cursor, alerting)
    return FleetView(
        counts=counts,
        rows=[tables.fleet_row(d) for d in devices],
        next_cursor=next_cursor,
        error=error,
        filters=filters,
        cursor=cursor,
    )


def _query(request: Request, **changes: str | None) -> str:
    params = {
        k: v
        for k, v in request.query_params.items()
        if k in {"batch", "kind", "model", "state", "tag", "label"}
    }
    for key, value in changes.items():
        if value:
            params[key] = value
    return urlencode(params)


def _counts_fields(counts: FleetCounts) -> dict[str, str]:
    alerting = counts.alerting
    return {
        "count-total": str(counts.total),
        "count-online": str(counts.online),
        "count-offline": str(counts.offline),
        "count-alerting": "n/a" if alerting is None else str(alerting),
    }


@router.get("/")
async def fleet_page(request: Request, session: SessionDep) -> Response:
    fleet = await _fleet(request, session)
    query = _query(request)
    return render(
        request,
        "fleet.html",
        {
            "counts": fleet.counts,
            "rows": fleet.rows,
            "next_cursor": fleet.next_cursor,
            "error": fleet.error,
            "filters": fleet.filters,
            "cursor": fleet.cursor,
            "columns": tables.FLEET_COLUMNS,
            "fields": _counts_fields(fleet.counts),
            "live_url": "/ui/fleet.json" + (f"?{request.url.query}" if request.url.query else ""),
            "next_url": ("/?" + _query(request, cursor=fleet.next_cursor))
            if fleet.next_cursor
            else None,
            "first_url": ("/?" + query) if fleet.cursor else None,
            "q": request.query_params,
            "csv_url": "/ui/export/devices.csv" + (f"?{query}" if query else ""),
            "selector": fleet.filters.selector(),
        },
        session=session,
    )


@router.get("/ui/fleet.json")
async def fleet_live(request: Request, session: SessionDep) -> Response:
    fleet = await _fleet(request, session)
    return JSONResponse(
        {
            "fields": _counts_fields(fleet.counts),
            "tables": {"fleet": tables.as_json(fleet.rows)},
        },
        headers={"Cache-Control": "no-store"},
    )
