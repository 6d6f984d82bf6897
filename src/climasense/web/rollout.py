"""A firmware release's progress as the dashboard draws it, from the operator API's release
document (`GET /admin/v1/releases/{id}`, read into `views.Release`): `status_counts` (devices
whose latest report for the version is each status), `devices_targeted`, `stuck`,
`pause_reason`."""

from __future__ import annotations

from dataclasses import dataclass

from climasense.web.views import Release

# Drawn left to right: finished work first, failures last.
STATUS_ORDER = ["completed", "applying", "verifying", "downloaded", "downloading", "failed"]
FINAL = {"completed", "failed"}


@dataclass(frozen=True, slots=True)
class Segment:
    """One status's share of the progress bar (also sent to the page's live update)."""

    status: str
    count: int
    percent: float

    def as_json(self) -> dict[str, object]:
        return {"status": self.status, "count": self.count, "percent": self.percent}


@dataclass(frozen=True, slots=True)
class Progress:
    total: int
    reported: int
    completed: int
    failed: int
    stuck: int
    in_progress: int
    not_started: int
    # The API's rate counts stuck devices as failed, as auto-pause does.
    failure_percent: float
    segments: tuple[Segment, ...]


def status_counts(release: Release) -> dict[str, int]:
    return dict(release.status_counts)


def pause_reason(release: Release) -> str | None:
    return release.pause_reason


def progress(release: Release) -> Progress:
    counts = status_counts(release)
    reported = sum(counts.values())
    targeted = release.devices_targeted
    # Devices revoked or moved to another batch after reporting still count as reported.
    total = max(targeted, reported) if targeted is not None else reported
    ordered = [s for s in STATUS_ORDER if s in counts] + sorted(
        s for s in counts if s not in STATUS_ORDER
    )
    segments = tuple(
        Segment(
            status=status,
            count=counts[status],
            percent=round(100.0 * counts[status] / total, 2) if total else 0.0,
        )
        for status in ordered
        if counts[status] > 0
    )
    completed = counts.get("completed", 0)
    failed = counts.get("failed", 0)
    rate = release.failure_rate_percent
    return Progress(
        total=total,
        reported=reported,
        completed=completed,
        failed=failed,
        stuck=release.stuck,
        in_progress=reported - completed - failed,
        not_started=total - reported,
        failure_percent=round(rate, 1) if rate is not None else 0.0,
        segments=segments,
    )


def summary(release: Release) -> str:
    p = progress(release)
    if not p.total:
        return "no device targeted yet"
    text = f"{p.completed} of {p.total} completed"
    if p.in_progress:
        text += f", {p.in_progress} in progress"
        if p.stuck:
            text += f" ({p.stuck} stuck)"
    if p.failed:
        text += f", {p.failed} failed"
    if p.failed or p.stuck:
        text += f" ({p.failure_percent}% of finished)"
    if p.not_started:
        text += f", {p.not_started} not started"
    return text
