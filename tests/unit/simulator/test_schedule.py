from __future__ import annotations

import random

import pytest

from climasense.simulator.schedule import Schedule


def make(periods: dict[str, float], start: float = 100.0, seed: int = 1) -> Schedule:
    return Schedule(periods, start, random.Random(seed))


def test_first_runs_are_staggered_within_the_first_period() -> None:
    starts = [make({"report": 10}, seed=s).tasks["report"].next_at for s in range(50)]
    assert all(100 <= t < 110 for t in starts)
    assert len({round(t, 3) for t in starts}) > 40


def test_due_tasks_run_once_then_one_period_later() -> None:
    schedule = make({"report": 10, "ota": 30})
    schedule.tasks["report"].next_at = 100
    schedule.tasks["ota"].next_at = 105
    assert schedule.due(99.9) == []
    assert schedule.due(100) == ["report"]
    assert schedule.tasks["report"].next_at == 110
    assert schedule.due(106) == ["ota"]
    assert schedule.next_at() == 110


def test_a_late_task_does_not_pile_up() -> None:
    schedule = make({"report": 10})
    schedule.tasks["report"].next_at = 100
    assert schedule.due(1000) == ["report"]  # ninety periods late: runs once
    assert schedule.due(1000) == []
    assert 1000 < schedule.tasks["report"].next_at <= 1010


def test_postpone_honours_retry_after_but_never_runs_earlier() -> None:
    schedule = make({"report": 10})
    schedule.tasks["report"].next_at = 100
    schedule.postpone("report", 130)
    assert schedule.due(129) == []
    assert schedule.due(130) == ["report"]
    schedule.postpone("report", 0)
    assert schedule.tasks["report"].next_at == 140


def test_period_change_takes_effect_at_once() -> None:
    schedule = make({"report": 600})
    schedule.tasks["report"].next_at = 700
    schedule.set_period("report", 60, now=200)
    assert schedule.tasks["report"].next_at == 260


def test_refuses_a_zero_period() -> None:
    with pytest.raises(ValueError, match="positive"):
        make({"report": 0})
