"""A firmware release's progress as the dashboard draws it, from the operator API's release
document (`GET /admin/v1/releases/{id}`, `ota.schemas.Release`): `status_counts` (devices whose
latest report for the version is each status), `devices_targeted`, `stuck`, `pause_reason`."""

from __future__ import annotations

from typing import Any

# Drawn left to right: finished work first, failures last.
STATUS_ORDER = ["completed", "applying", "verifying", "downloaded", "downloading", "failed"]
FINAL = {"completed", "failed"}


def status_counts(release: dict[str, Any]) -> dict[str, int]:
    counts = release.get("status_counts")
    if not isinstance(counts, dict):
        return {}
    return {str(k): int(v) for k, v in counts.items() if isinstance(v, int | float)}


def pause_reason(release: dict[str, Any]) -> str | None:
    reason = release.get("pause_reason")
    return str(reason) if reason else None


def progress(release: dict[str, Any]) -> dict[str, Any]:
    counts = status_counts(release)
    reported = sum(counts.values())
    targeted = release.get("devices_targeted")
    # Devices revoked or moved to another batch after reporting still count as reported.
    total = max(targeted, reported) if isinstance(targeted, int) else reported
    ordered = [s for s in STATUS_ORDER if s in counts] + sorted(
        s for s in counts if s not in STATUS_ORDER
    )
    segments = [
        {
            "status": status,
            "count": counts[status],
            "percent": round(100.0 * counts[status] / total, 2) if total else 0.0,
        }
        for status in ordered
        if counts[status] > 0
    ]
    completed = counts.get("completed", 0)
    failed = counts.get("failed", 0)
    stuck = release.get("stuck") if isinstance(release.get("stuck"), int) else 0
    rate = release.get("failure_rate_percent")
    return {
        "total": total,
        "reported": reported,
        "completed": completed,
        "failed": failed,
        "stuck": stuck,
        "in_progress": reported - completed - failed,
        "not_started": total - reported,
        # The API's rate counts stuck devices as failed, as auto-pause does.
        "failure_percent": round(float(rate), 1) if isinstance(rate, int | float) else 0.0,
        "segments": segments,
    }


def summary(release: dict[str, Any]) -> str:
    p = progress(release)
    if not p["total"]:
        return "no device targeted yet"
    text = f"{p['completed']} of {p['total']} completed"
    if p["in_progress"]:
        text += f", {p['in_progress']} in progress"
        if p["stuck"]:
            text += f" ({p['stuck']} stuck)"
    if p["failed"]:
        text += f", {p['failed']} failed"
    if p["failed"] or p["stuck"]:
        text += f" ({p['failure_percent']}% of finished)"
    if p["not_started"]:
        text += f", {p['not_started']} not started"
    return text
