"""The series state machine on its own: hand-picked cases and randomised properties."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from climasense.alerts.evaluation import Reading, SeriesState, evaluate, late_window_start
from climasense.alerts.rules import Condition, clear_threshold_problem

T0 = datetime(2024, 6, 1, tzinfo=UTC)
ABOVE_80 = Condition(">", 80)


def r(seconds: int, value: float) -> Reading:
    return (T0 + timedelta(seconds=seconds), value)


class Series:
    """Feeds batches to `evaluate` as the evaluator does, keeping the stored readings."""

    def __init__(self, condition: Condition, for_seconds: int) -> None:
        self.condition, self.for_seconds = condition, for_seconds
        self.state = SeriesState()
        self.stored: list[Reading] = []
        self.open_since: datetime | None = None
        self.opened: list[datetime] = []
        self.resolved: list[datetime] = []

    def feed(self, batch: list[Reading]) -> None:
        self.stored.extend(batch)
        start = late_window_start(self.state, self.condition, batch)
        window = []
        if start is not None:
            assert self.state.last_ts is not None
            window = [x for x in self.stored if start <= x[0] <= self.state.last_ts]
        outcome = evaluate(
            self.state, self.condition, self.for_seconds, self.open_since is not None, batch, window
        )
        if outcome.resolved is not None:
            assert self.open_since is not None
            self.resolved.append(outcome.resolved[0])
            self.open_since = None
        if outcome.opened_at is not None:
            assert self.open_since is None
            if self.condition.clear_threshold is None:
                # Never a false open: by everything stored so far, it holds long enough now.
                assert held_at_end(self.stored, self.condition, self.for_seconds)
            self.open_since = outcome.opened_at
            self.opened.append(outcome.opened_at)


def test_for_seconds_counts_reading_time() -> None:
    series = Series(ABOVE_80, 1800)
    for minute in range(0, 30, 5):
        series.feed([r(minute * 60, 85)])
    assert series.opened == []
    series.feed([r(1800, 85)])
    assert series.opened == [T0 + timedelta(seconds=1800)]


def test_hysteresis_needs_the_clear_threshold_crossed() -> None:
    series = Series(Condition(">", 80, clear_threshold=75), 0)
    series.feed([r(0, 81)])
    series.feed([r(60, 76)])
    assert series.resolved == []
    series.feed([r(120, 75)])
    assert series.resolved == [T0 + timedelta(seconds=120)]


@pytest.mark.parametrize(
    ("op", "threshold", "clear", "value", "clears"),
    [
        (">", 80, 75, 75, True),
        (">", 80, 75, 75.1, False),
        (">=", 80, 75, 75, False),
        (">=", 80, 75, 74.9, True),
        ("<", 20, 25, 25, True),
        ("<=", 20, 25, 25, False),
        ("<=", 20, 25, 25.1, True),
    ],
)
def test_clear_condition_is_the_complement_around_the_clear_threshold(
    op: str, threshold: float, clear: float, value: float, clears: bool
) -> None:
    assert Condition(op, threshold, clear).clears(value) is clears


def test_clear_threshold_must_be_on_the_clearing_side() -> None:
    assert clear_threshold_problem(">", 80, 85) is not None
    assert clear_threshold_problem("<", 20, 15) is not None
    assert clear_threshold_problem("==", 0, 1) is not None
    assert clear_threshold_problem(">", 80, 80) is None


def test_resolve_and_reopen_in_one_batch() -> None:
    series = Series(ABOVE_80, 0)
    series.feed([r(0, 90)])
    series.feed([r(60, 70), r(120, 90)])
    assert series.resolved == [T0 + timedelta(seconds=60)]
    assert series.opened == [T0, T0 + timedelta(seconds=120)]


def sequential(readings: list[Reading], condition: Condition, for_seconds: int) -> list[datetime]:
    """The textbook machine over readings in timestamp order: when alerts open."""
    opened, open_now, run_start = [], False, None
    for ts, value in sorted(readings):
        if open_now and condition.clears(value):
            open_now = False
        run_start = (run_start or ts) if condition.holds(value) else None
        if (
            not open_now
            and run_start is not None
            and (ts - run_start).total_seconds() >= for_seconds
        ):
            open_now = True
            opened.append(ts)
    return opened


def held_at_end(readings: list[Reading], condition: Condition, for_seconds: int) -> bool:
    ordered = sorted(readings)
    failures = [ts for ts, v in ordered if not condition.holds(v)]
    after = [ts for ts, _ in ordered if not failures or ts > failures[-1]]
    return bool(after) and (ordered[-1][0] - after[0]).total_seconds() >= for_seconds


def random_series(rng: random.Random) -> list[Reading]:
    value, readings = 75.0, []
    for i in range(rng.randint(1, 60)):
        value = min(100.0, max(50.0, value + rng.uniform(-6, 6)))
        readings.append(r(i * 60 + rng.randint(0, 30), round(value, 1)))
    return readings


@pytest.mark.parametrize("seed", range(300))
def test_in_order_readings_one_by_one_match_the_textbook_machine(seed: int) -> None:
    rng = random.Random(seed)
    readings, for_seconds = random_series(rng), rng.choice([0, 60, 300, 900])
    series = Series(ABOVE_80, for_seconds)
    for reading in readings:
        series.feed([reading])
    assert series.opened == sequential(readings, ABOVE_80, for_seconds)


@pytest.mark.parametrize("seed", range(300))
def test_any_arrival_order_ends_in_the_right_state(seed: int) -> None:
    """However readings are shuffled and batched: an alert is open at the end whenever the
    condition holds for long enough at the newest reading, and only while the newest reading
    satisfies it; never two at once (checked by `Series.feed`)."""
    rng = random.Random(seed)
    readings, for_seconds = random_series(rng), rng.choice([0, 60, 300, 900])
    shuffled = readings[:]
    rng.shuffle(shuffled)
    series = Series(ABOVE_80, for_seconds)
    while shuffled:
        size = rng.randint(1, 10)
        series.feed(shuffled[:size])
        shuffled = shuffled[size:]
    newest = max(readings)
    if held_at_end(readings, ABOVE_80, for_seconds):
        assert series.open_since is not None
    if series.open_since is not None:
        assert ABOVE_80.holds(newest[1])
    assert series.state.last_ts == newest[0]
