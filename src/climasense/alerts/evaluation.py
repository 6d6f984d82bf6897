"""The state machine of one (rule, subject) series, without I/O.

Readings are evaluated in timestamp order. The series state (`SeriesState`) describes the
newest reading evaluated so far; a batch of new readings is split into

* **fresh** readings (newer than the newest evaluated): run through the state machine in
  timestamp order. An open alert resolves at the first fresh reading that clears it. An alert
  that would open at some reading opens only if no later reading of the same batch clears it
  again — an episode already over by the time it is evaluated is never announced.
* **late** readings (older than the newest evaluated, e.g. a device flushing its buffer after
  newer readings arrived): they never resolve an alert and never open one for the past, but
  they correct when the current run of satisfying readings started — a late satisfying
  reading may lengthen it (and so open an alert now, at the newest reading), a late failing
  reading inside it restarts it after that reading (re-read from the stored readings of that
  window, which the caller supplies).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from climasense.alerts.rules import Condition

Reading = tuple[datetime, float]


@dataclass(slots=True)
class SeriesState:
    last_ts: datetime | None = None
    last_value: float | None = None
    last_fail_ts: datetime | None = None
    run_start: datetime | None = None


@dataclass(frozen=True, slots=True)
class Outcome:
    # The existing open alert resolves at this reading (timestamp, value).
    resolved: Reading | None = None
    # The existing open alert stays open (or resolves later in the batch) with this newest
    # value that satisfied the condition.
    repeat_value: float | None = None
    # A new alert opens: the reading at which the condition had held for `for_seconds`, and
    # the newest value that satisfied it.
    opened_at: datetime | None = None
    opened_value: float | None = None

    @property
    def changed(self) -> bool:
        return (
            self.resolved is not None or self.repeat_value is not None or self.opened_at is not None
        )


def late_window_start(
    state: SeriesState, condition: Condition, readings: Sequence[Reading]
) -> datetime | None:
    """Where the stored readings must be re-read from (see `evaluate`), or None if the late
    readings of this batch cannot move the start of the current run backwards in a way that
    needs them: only a late failing reading newer than the newest known failure does."""
    if state.last_ts is None:
        return None
    start: datetime | None = None
    for ts, value in readings:
        if ts >= state.last_ts or condition.holds(value):
            continue
        if state.last_fail_ts is not None and ts <= state.last_fail_ts:
            continue
        if start is None or ts < start:
            start = ts
    return start


def evaluate(
    state: SeriesState,
    condition: Condition,
    for_seconds: float,
    alert_open: bool,
    readings: Sequence[Reading],
    stored_window: Sequence[Reading] = (),
) -> Outcome:
    """Advance `state` (in place) by `readings`; say what happens to the series' alert.

    `stored_window` holds every stored reading of the series with a timestamp in
    [`late_window_start(...)`, `state.last_ts`] (the batch's own late readings included),
    needed only when `late_window_start` returned a time.
    """
    # The evaluator calls this once per series per batch: the state is kept in locals and an
    # outcome without news is a shared instance, because the per-series overhead is most of
    # the evaluator's own CPU (readings per series are few).
    last_ts = state.last_ts
    late: list[Reading] = [] if last_ts is None else [r for r in readings if r[0] <= last_ts]
    if late:
        assert last_ts is not None
        fresh = sorted(r for r in readings if r[0] > last_ts)
        _apply_late(state, condition, late, stored_window)
    else:
        fresh = sorted(readings)

    run_start = state.run_start
    last_value = state.last_value
    # An alert the late readings make due: the condition now holds, as of the newest reading,
    # for long enough.
    tentative: Reading | None = None
    if (
        not alert_open
        and run_start is not None
        and last_ts is not None
        and (last_ts - run_start).total_seconds() >= for_seconds
    ):
        assert last_value is not None
        tentative = (last_ts, last_value)
    if not fresh:
        return _NOTHING if tentative is None else Outcome(None, None, *tentative)

    last_fail_ts = state.last_fail_ts
    resolved: Reading | None = None
    repeat_value: float | None = None
    for ts, value in fresh:
        holds = condition.holds(value)
        if alert_open:
            if condition.clears(value):
                resolved, alert_open = (ts, value), False
            elif holds:
                repeat_value = value
        elif tentative is not None:
            if condition.clears(value):
                tentative = None  # cleared by a later reading of this batch: never announced
            elif holds:
                tentative = (tentative[0], value)
        if holds:
            if run_start is None:
                run_start = ts
        else:
            last_fail_ts, run_start = ts, None
        if (
            not alert_open
            and tentative is None
            and run_start is not None
            and (ts - run_start).total_seconds() >= for_seconds
        ):
            tentative = (ts, value)
    state.last_ts, state.last_value = fresh[-1]
    state.last_fail_ts, state.run_start = last_fail_ts, run_start

    if resolved is None and repeat_value is None and tentative is None:
        return _NOTHING
    return Outcome(
        resolved=resolved,
        repeat_value=repeat_value,
        opened_at=None if tentative is None else tentative[0],
        opened_value=None if tentative is None else tentative[1],
    )


_NOTHING = Outcome()


def _apply_late(
    state: SeriesState,
    condition: Condition,
    late: Sequence[Reading],
    stored_window: Sequence[Reading],
) -> None:
    failing_inside_run = [
        ts
        for ts, value in late
        if not condition.holds(value) and (state.last_fail_ts is None or ts > state.last_fail_ts)
    ]
    if failing_inside_run:
        # The run restarts after the newest failing reading of the window; the stored window
        # includes readings not evaluated yet, which is right: they are part of the series.
        assert state.last_ts is not None
        assert state.last_value is not None
        start = min(failing_inside_run)
        known = {ts: value for ts, value in stored_window if start <= ts <= state.last_ts}
        known.update((ts, value) for ts, value in late if ts >= start)
        known[state.last_ts] = state.last_value
        window = sorted(known.items())
        failures = [ts for ts, value in window if not condition.holds(value)]
        state.last_fail_ts = max([*failures, *failing_inside_run])
        after = [ts for ts, _ in window if ts > state.last_fail_ts]
        state.run_start = min(after) if after else None
        return
    for ts, value in late:
        if not condition.holds(value):
            continue  # older than the newest known failure: changes nothing
        if state.last_fail_ts is not None and ts <= state.last_fail_ts:
            continue
        if state.run_start is not None and ts < state.run_start:
            state.run_start = ts
