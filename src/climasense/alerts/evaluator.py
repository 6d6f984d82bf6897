"""The durable evaluator: outbox rows in, alert changes and webhook deliveries out, in one
transaction per batch — so each committed reading is evaluated exactly once, crash or not.

`run_evaluator` is the worker's loop: it owns a fair share of the outbox shards (see
`shards`), and evaluates their rows in batches on the connection that holds the shard locks.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

import asyncpg

from climasense.alert_settings import AlertSettings
from climasense.alerts import repository, rule_repository
from climasense.alerts.evaluation import Reading, SeriesState, evaluate, late_window_start
from climasense.alerts.notify import enqueue_alert_events
from climasense.alerts.rules import Rule, Subject
from climasense.alerts.shards import ShardLeases
from climasense.db.pool import connect
from climasense.services import Services


@dataclass
class RuleSet:
    version: int = -1
    by_sensor_type: dict[int, list[Rule]] = field(default_factory=dict)
    offline: list[Rule] = field(default_factory=list)

    async def refresh(self, conn: asyncpg.Connection) -> None:
        """Reload the rules if they changed (call holding the shared rules lock)."""
        current = await rule_repository.version(conn)
        if current == self.version:
            return
        by_sensor_type: dict[int, list[Rule]] = defaultdict(list)
        offline = []
        for rule in await rule_repository.live_rules(conn):
            if rule.kind == "device_offline":
                offline.append(rule)
            elif rule.sensor_type_code is not None:
                by_sensor_type[rule.sensor_type_code].append(rule)
        self.by_sensor_type, self.offline, self.version = dict(by_sensor_type), offline, current


@dataclass
class SeriesCache:
    """The stored series state of subjects this evaluator has seen, carried from batch to batch,
    so that a batch loads (`load_series`) only the subjects it has not seen: loading was about a
    sixth of the evaluator's CPU and PostgreSQL's per outbox row (docs/performance.md).

    It mirrors `alert_series` exactly as long as nothing else writes those rows, which holds
    while this evaluator keeps its shards (only the owner of a subject's shard evaluates it)
    and the rules stay as they are (a rule change deletes its series, and bumps the rules
    version). So it is cleared when the shards it owns change (`run_evaluator`), when the
    rules version moves, and when a batch fails: evaluation advances the cached states in
    place before the batch commits.
    """

    # subject → rule → its stored state; a subject present here has no other stored series.
    by_subject: dict[UUID, dict[UUID, SeriesState]] = field(default_factory=dict)
    rules_version: int = -1
    # Subjects kept at most, oldest loaded dropped first: ~0.9 kB each with the 3 default
    # rules (measured), so ~45 MB. An evaluator owning more subjects than this
    # gains little from the cache (readings come round in a cycle), and loses nothing.
    max_subjects: int = 50_000

    def clear(self) -> None:
        self.by_subject.clear()

    async def load(self, conn: asyncpg.Connection, subject_ids: list[UUID]) -> None:
        """Load the series of those of `subject_ids` not cached yet."""
        missing = [s for s in subject_ids if s not in self.by_subject]
        if not missing:
            return
        excess = len(self.by_subject) + len(missing) - self.max_subjects
        if excess > 0:  # drop the oldest loaded, but none this batch reads
            wanted = set(subject_ids)
            old = (s for s in self.by_subject if s not in wanted)
            for subject_id in list(itertools.islice(old, excess)):
                del self.by_subject[subject_id]
        for subject_id in missing:
            self.by_subject[subject_id] = {}
        for (subject_id, rule_id), state in (await repository.load_series(conn, missing)).items():
            self.by_subject[subject_id][rule_id] = state


@dataclass
class _Changes:
    # Series whose state changed: stored before this batch (updated), or new (inserted).
    series_keys: list[tuple[UUID, UUID]] = field(default_factory=list)
    series_states: list[SeriesState] = field(default_factory=list)
    new_series_keys: list[tuple[UUID, UUID]] = field(default_factory=list)
    new_series_states: list[SeriesState] = field(default_factory=list)
    value_ids: list[UUID] = field(default_factory=list)
    values: list[float] = field(default_factory=list)
    resolve_ids: list[UUID] = field(default_factory=list)
    resolve_at: list[datetime] = field(default_factory=list)
    resolve_values: list[float | None] = field(default_factory=list)
    new_alerts: list[repository.NewAlert] = field(default_factory=list)

    def resolve(self, alert_id: UUID, at: datetime, value: float | None) -> None:
        self.resolve_ids.append(alert_id)
        self.resolve_at.append(at)
        self.resolve_values.append(value)


async def evaluate_batch(
    conn: asyncpg.Connection,
    shards: list[int],
    limit: int,
    rules: RuleSet,
    series: SeriesCache | None = None,
) -> int:
    """Evaluate up to `limit` outbox rows of `shards`; return how many were consumed.

    `series` carries series state to the next batch (see `SeriesCache`); without it every
    batch loads the state it needs."""
    cache = SeriesCache() if series is None else series
    try:
        return await _evaluate_batch(conn, shards, limit, rules, cache)
    except BaseException:
        cache.clear()  # states advanced in place may not have been committed
        raise


async def _evaluate_batch(
    conn: asyncpg.Connection, shards: list[int], limit: int, rules: RuleSet, cache: SeriesCache
) -> int:
    async with conn.transaction():
        rows = await repository.claim_outbox(conn, shards, limit)
        if not rows:
            return 0
        await rule_repository.lock_shared(conn)
        await rules.refresh(conn)
        if cache.rules_version != rules.version:
            cache.clear()  # a rule change may have deleted series
            cache.rules_version = rules.version

        readings: dict[UUID, dict[int, list[Reading]]] = defaultdict(lambda: defaultdict(list))
        arrived: dict[UUID, datetime] = {}
        ruled = rules.by_sensor_type  # readings of a type no rule watches are not looked at
        for row in rows:
            subject_id = row.device_id
            by_type = readings[subject_id]
            for sensor_type, ts, value in zip(
                row.sensor_types, row.timestamps, row.values, strict=True
            ):
                if sensor_type in ruled:
                    by_type[sensor_type].append((ts, value))
            arrived[subject_id] = max(arrived.get(subject_id, row.created_at), row.created_at)

        subject_ids = list(readings)
        subjects = await repository.subjects(conn, subject_ids)
        unresolved = await repository.unresolved_alerts(conn, subject_ids)
        await cache.load(conn, subject_ids)
        changes = _Changes()

        for subject_id, by_type in readings.items():
            subject = subjects.get(subject_id)
            if subject is None:
                continue  # not a device we know (nothing to alert on)
            states = cache.by_subject[subject_id]
            for sensor_type, series_readings in by_type.items():
                for rule in rules.by_sensor_type.get(sensor_type, ()):
                    if not rule.applies_to(subject):
                        continue
                    assert rule.condition is not None
                    key = (subject_id, rule.rule_id)
                    stored = states.get(rule.rule_id)
                    window: list[Reading] = []
                    if stored is not None:
                        start = late_window_start(stored, rule.condition, series_readings)
                        if start is not None:
                            assert stored.last_ts is not None
                            window = await repository.stored_window(
                                conn, subject_id, sensor_type, start, stored.last_ts
                            )
                    _evaluate_series(
                        rule,
                        subject,
                        sensor_type,
                        series_readings,
                        stored,
                        window,
                        unresolved.get(key),
                        changes,
                        states,
                    )
            # Any telemetry ends a device_offline alert.
            for rule in rules.offline:
                alert_id = unresolved.get((subject_id, rule.rule_id))
                if alert_id is not None:
                    changes.resolve(alert_id, arrived[subject_id], None)

        await repository.update_series(conn, changes.series_keys, changes.series_states)
        await repository.save_series(conn, changes.new_series_keys, changes.new_series_states)
        await repository.update_values(conn, changes.value_ids, changes.values)
        resolved = await repository.resolve(
            conn, changes.resolve_ids, changes.resolve_at, changes.resolve_values
        )
        opened = await repository.open_alerts(conn, changes.new_alerts)
        await enqueue_alert_events(
            conn,
            [("alert.resolved", a) for a in resolved] + [("alert.opened", a) for a in opened],
        )
        return len(rows)


def _evaluate_series(
    rule: Rule,
    subject: Subject,
    sensor_type: int,
    series_readings: list[Reading],
    stored: SeriesState | None,
    window: list[Reading],
    alert_id: UUID | None,
    changes: _Changes,
    states: dict[UUID, SeriesState],
) -> None:
    """Evaluate one series (synchronous: the batch loop fetched its stored window, if any)."""
    assert rule.condition is not None
    key = (subject.subject_id, rule.rule_id)
    state = stored or SeriesState()
    last_ts, last_value = state.last_ts, state.last_value
    last_fail_ts, run_start = state.last_fail_ts, state.run_start
    outcome = evaluate(
        state, rule.condition, rule.for_seconds, alert_id is not None, series_readings, window
    )
    if (
        state.last_ts != last_ts
        or state.last_value != last_value
        or state.last_fail_ts != last_fail_ts
        or state.run_start != run_start
    ):
        if stored is None:
            changes.new_series_keys.append(key)
            changes.new_series_states.append(state)
            states[rule.rule_id] = state  # stored by this batch
        else:
            changes.series_keys.append(key)
            changes.series_states.append(state)
    if not outcome.changed:
        return
    if alert_id is not None and outcome.repeat_value is not None:
        changes.value_ids.append(alert_id)
        changes.values.append(outcome.repeat_value)
    if alert_id is not None and outcome.resolved is not None:
        changes.resolve(alert_id, *outcome.resolved)
    if outcome.opened_at is not None:
        changes.new_alerts.append(
            repository.NewAlert(
                rule_id=rule.rule_id,
                subject_id=subject.subject_id,
                device_id=subject.device_id,
                sensor_id=subject.sensor_id,
                sensor_type=sensor_type,
                severity=rule.severity,
                opened_at=outcome.opened_at,
                value=outcome.opened_value,
            )
        )


async def drain(pool: asyncpg.Pool, *, limit: int = 500, max_batches: int = 10_000) -> int:
    """Evaluate every outbox row no running evaluator owns (tests, one-off catch-up)."""
    consumed = 0
    async with pool.acquire() as conn:
        leases = ShardLeases(conn)
        await leases.claim_all()
        rules, series = RuleSet(), SeriesCache()
        try:
            for _ in range(max_batches):
                done = await evaluate_batch(conn, sorted(leases.owned), limit, rules, series)
                consumed += done
                if done == 0:
                    break
        finally:
            await leases.release_all()
    return consumed


def pause_after(done: int, settings: AlertSettings) -> float:
    """How long the evaluator waits after a batch of `done` rows.

    A full batch means a backlog: go on at once. A partial one means readings are arriving:
    look again soon (`busy_poll_seconds`), so under load a reading waits a few ms for its
    batch rather than half an idle poll on average. An empty one means idle: poll slowly.
    """
    if done >= settings.batch_size:
        return 0.0
    if done > 0:
        return min(settings.busy_poll_seconds, settings.poll_seconds)
    return settings.poll_seconds


async def rebalance(leases: ShardLeases, series: SeriesCache) -> None:
    """Take this evaluator's fair share of the shards; forget the cached series state if the
    shards it owns changed (a shard held elsewhere meanwhile may have moved on)."""
    owned = set(leases.owned)
    await leases.rebalance()
    if leases.owned != owned:
        series.clear()


async def run_evaluator(services: Services) -> None:
    settings = services.settings.alerts
    rules, series = RuleSet(), SeriesCache()
    # A connection of its own, outside the pool: it lives as long as the loop (its session
    # holds the shard locks), and must not keep the pool from closing.
    conn = await connect(services.settings.database_url)
    try:
        leases = ShardLeases(conn)
        await leases.join()
        next_rebalance = 0.0
        while True:
            if time.monotonic() >= next_rebalance:
                await rebalance(leases, series)
                next_rebalance = time.monotonic() + settings.rebalance_seconds
            done = 0
            if leases.owned:
                done = await evaluate_batch(
                    conn, sorted(leases.owned), settings.batch_size, rules, series
                )
            pause = pause_after(done, settings)
            if pause > 0:
                await asyncio.sleep(pause)
    finally:
        # Closing the session releases its shard locks: other evaluators take them over.
        try:
            await asyncio.wait_for(conn.close(), timeout=2)
        except (TimeoutError, OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            conn.terminate()
