from __future__ import annotations

from typing import Any

from climasense.ota.schemas import Release
from climasense.web.rollout import pause_reason, progress, status_counts, summary
from climasense.web.views import Release as ReleaseView


def release(**overrides: Any) -> ReleaseView:
    """A release document as `GET /admin/v1/releases/{id}` answers (validated by its schema)."""
    document: dict[str, Any] = {
        "release_id": "7d0c4a52-4c8e-4b8e-9a39-2f0f3f1d8a11",
        "model": "CS-100",
        "version": "1.1.0",
        "batches": ["b1"],
        "state": "active",
        "pause_reason": None,
        "auto_paused": False,
        "failure_threshold_percent": 20.0,
        "min_finished": 5,
        "status_counts": {
            "downloading": 0,
            "downloaded": 0,
            "verifying": 0,
            "applying": 0,
            "completed": 0,
            "failed": 0,
        },
        "stuck": 0,
        "devices_targeted": 0,
        "devices_not_started": 0,
        "finished": 0,
        "failed_including_stuck": 0,
        "failure_rate_percent": None,
        "evaluated_since": "2025-01-01T00:00:00Z",
        "created_at": "2025-01-01T00:00:00Z",
        "updated_at": "2025-01-01T00:00:00Z",
    }
    document.update(overrides)
    document["status_counts"] = {**release_counts_zero(), **document["status_counts"]}
    return ReleaseView.from_json(Release.model_validate(document).model_dump(mode="json"))


def release_counts_zero() -> dict[str, int]:
    return dict.fromkeys(
        ("downloading", "downloaded", "verifying", "applying", "completed", "failed"), 0
    )


def test_counts_are_the_release_status_counts() -> None:
    found = status_counts(release(status_counts={"completed": 2}))
    assert found["completed"] == 2
    assert sum(found.values()) == 2
    assert status_counts(ReleaseView.from_json({})) == {}


def test_progress_orders_segments_and_uses_the_targeted_devices() -> None:
    document = release(
        status_counts={"failed": 1, "downloading": 2, "completed": 5},
        devices_targeted=10,
        failure_rate_percent=round(100 / 6, 2),
    )
    found = progress(document)
    assert [s.status for s in found.segments] == ["completed", "downloading", "failed"]
    assert [s.percent for s in found.segments] == [50.0, 20.0, 10.0]
    assert found.not_started == 2
    assert found.in_progress == 2
    assert found.failure_percent == round(100 / 6, 1)
    assert summary(document) == (
        "5 of 10 completed, 2 in progress, 1 failed (16.7% of finished), 2 not started"
    )


def test_stuck_devices_show_in_the_summary() -> None:
    document = release(
        status_counts={"applying": 2, "completed": 3},
        stuck=2,
        devices_targeted=5,
        failure_rate_percent=40.0,
    )
    assert summary(document) == "3 of 5 completed, 2 in progress (2 stuck) (40.0% of finished)"


def test_devices_that_left_the_batch_still_count() -> None:
    # Reported, then revoked: fewer targeted than reported, the bar never passes 100 %.
    found = progress(release(status_counts={"completed": 1, "verifying": 1}, devices_targeted=1))
    assert found.total == 2
    assert sum(s.percent for s in found.segments) == 100.0


def test_nothing_targeted_yet() -> None:
    assert progress(release()).segments == ()
    assert summary(release()) == "no device targeted yet"
    assert summary(release(devices_targeted=3)) == "0 of 3 completed, 3 not started"


def test_auto_pause_reason() -> None:
    reason = "Paused automatically: 3 of 5 finished devices failed (60.0 % > 20 % threshold)"
    paused = release(state="paused", auto_paused=True, pause_reason=reason)
    assert pause_reason(paused) == reason
    assert pause_reason(release()) is None
