from __future__ import annotations

from climasense.web.rollout import pause_reason, progress, status_counts, summary


def test_counts_are_read_from_the_likely_field_names() -> None:
    assert status_counts({"status_counts": {"completed": 2}}) == {"completed": 2}
    assert status_counts({"counts": [{"status": "failed", "count": 1}]}) == {"failed": 1}
    assert status_counts({}) == {}


def test_progress_orders_segments_and_uses_the_target_count() -> None:
    release = {
        "status_counts": {"failed": 1, "downloading": 2, "completed": 5, "applying": 0},
        "target_devices": 10,
    }
    found = progress(release)
    assert [s["status"] for s in found["segments"]] == ["completed", "downloading", "failed"]
    assert [s["percent"] for s in found["segments"]] == [50.0, 20.0, 10.0]
    assert found["not_started"] == 2
    assert found["in_progress"] == 2
    assert found["failure_percent"] == round(100 / 6, 1)
    assert summary(release) == "5 of 10 completed, 2 in progress, 1 failed (16.7% of finished)"


def test_without_a_target_the_reported_devices_are_the_whole() -> None:
    found = progress({"status_counts": {"completed": 1, "verifying": 1}})
    assert found["total"] == 2
    assert sum(s["percent"] for s in found["segments"]) == 100.0


def test_nothing_reported_yet() -> None:
    assert progress({})["segments"] == []
    assert summary({}) == "no device has reported yet"


def test_auto_pause_reason() -> None:
    assert pause_reason({"pause_reason": "3 of 5 failed (60%)"}) == "3 of 5 failed (60%)"
    assert pause_reason({"state": "active"}) is None
