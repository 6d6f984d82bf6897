"""A firmware release's progress as the dashboard draws it, from `GET /admin/v1/releases/{id}`.

The contract names the content (state, reason for an automatic pause, per-status counts) but
not every field name, so this reads the likely spellings in one place.
"""

from __future__ import annotations

from typing import Any

# Drawn left to right: finished work first, failures last.
STATUS_ORDER = ["completed", "applying", "verifying", "downloaded", "downloading", "failed"]
_COUNT_KEYS = ("status_counts", "counts", "by_status", "statuses")
_TOTAL_KEYS = ("target_devices", "device_count", "eligible_devices", "total_devices", "targets")
_REASON_KEYS = ("pause_reason", "paused_reason", "auto_pause_reason", "reason")


def status_counts(release: dict[str, Any]) -> dict[str, int]:
    for key in _COUNT_KEYS:
        value = release.get(key)
        if isinstance(value, dict):
            return {str(k): int(v) for k, v in value.items() if isinstance(v, int | float)}
        if isinstance(value, list):  # [{"status": …, "count": …}]
            return {
                str(item["status"]): int(item.get("count", 0))
                for item in value
                if isinstance(item, dict) and "status" in item
            }
    return {}


def pause_reason(release: dict[str, Any]) -> str | None:
    for key in _REASON_KEYS:
        value = release.get(key)
        if value:
            return str(value)
    return None


def progress(release: dict[str, Any]) -> dict[str, Any]:
    counts = status_counts(release)
    reported = sum(counts.values())
    total = reported
    for key in _TOTAL_KEYS:
        value = release.get(key)
        if isinstance(value, int) and value >= reported:
            total = value
            break
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
    finished = completed + failed
    return {
        "total": total,
        "reported": reported,
        "completed": completed,
        "failed": failed,
        "in_progress": reported - finished,
        "not_started": total - reported,
        "failure_percent": round(100.0 * failed / finished, 1) if finished else 0.0,
        "segments": segments,
    }


def summary(release: dict[str, Any]) -> str:
    p = progress(release)
    if not p["total"]:
        return "no device has reported yet"
    text = f"{p['completed']} of {p['total']} completed"
    if p["in_progress"]:
        text += f", {p['in_progress']} in progress"
    if p["failed"]:
        text += f", {p['failed']} failed ({p['failure_percent']}% of finished)"
    return text
