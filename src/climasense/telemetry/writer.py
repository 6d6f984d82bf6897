"""The ingest writer: group commit of the readings of concurrent requests.

Every `POST /v1/telemetry` hands its validated readings to `IngestWriter.submit` and waits.
The writer takes everything pending (up to `max_batch` readings), writes it in ONE statement —
one implicit transaction: readings, alert outbox, the devices' last-seen, position and latest
values, late readings' hours (see `repository.ingest_statement`) — and answers each waiting
request only after that commit. A group is written first without `ON CONFLICT` (no reading in
it stored yet, the usual case) and again with it if that fails on a stored reading
(`_CHECKED_GROUPS`). While a commit is in flight, new requests pile up and go together in the
next one, so under load a single fsync covers many requests and nobody sleeps: the group is
whatever arrived during the previous commit (self-clocking). Only when the writer wakes from
idle does it wait up to `max_wait` seconds to gather the first request's concurrent company.

One commit loop by default (`concurrency`): measured on 2 cores with 64 concurrent clients,
a fixed 1–2 ms wait before every commit cost ~40 % of throughput, and a second loop in flight
split the groups in half and lowered throughput by ~25 % (docs/performance.md).

Bounded memory: readings submitted but not yet answered are counted; past `max_pending` a new
request is refused at once with 503 + Retry-After. A failed commit (database down, timeout)
answers every request in it with 503 + Retry-After: nothing was committed, so nothing is
half-written, and the device retries the whole batch (idempotent by reading key).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from uuid import UUID

import asyncpg

from climasense.errors import Unavailable
from climasense.http.errors import DEPENDENCY_ERRORS
from climasense.observability import metrics
from climasense.telemetry import repository
from climasense.telemetry.repository import GroupRows
from climasense.telemetry.validation import ValidatedBatch

log = logging.getLogger(__name__)

# Errors worth re-running the same group for: the transaction was rolled back, nothing is lost.
# A check violation on `readings_default` happens when the storage job attaches the partition
# a reading was being routed to (the default partition's constraint changed under the insert);
# run again, the insert routes to the new partition.
_RETRYABLE = (
    asyncpg.exceptions.DeadlockDetectedError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.CheckViolationError,
)
_ATTEMPTS = 3
# A group is first written with the statement for new readings only (`new_only`: no
# `ON CONFLICT`, about a fifth less of PostgreSQL's CPU); a reading already stored (a device
# retrying a request whose answer it lost) fails it whole, and the group is written again with
# the full statement, which skips and reports stored readings. Retries come in runs (a device
# flushing its buffer, a fleet reconnecting), so after such a failure the next
# `_CHECKED_GROUPS` groups go straight to the full statement: a failed attempt wastes at most
# one group's work in that many.
_CHECKED_GROUPS = 64


@dataclass(slots=True)
class Submission:
    """The valid readings of one request, with the subject device of each."""

    device_id: UUID
    subjects: list[UUID]
    sensor_types: list[int]
    timestamps: list[datetime]
    values: list[float]
    hub_ids: list[UUID | None]
    latitude: float | None
    longitude: float | None
    future: asyncio.Future[int] = field(repr=False)

    @property
    def size(self) -> int:
        return len(self.subjects)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def gather(group: list[Submission]) -> GroupRows:
    rows = GroupRows(repeats=[0] * len(group))
    positions: dict[UUID, int] = {}
    keys: set[tuple[int, int, int]] = set()
    for owner, sub in enumerate(group):
        position = rows.seen.get(sub.device_id, (None, None))
        if sub.latitude is not None:
            position = (sub.latitude, sub.longitude)
        rows.seen[sub.device_id] = position
        # Usually every reading of a request is the device's own: one lookup per request.
        own = positions.get(sub.device_id)
        if own is None:
            rows.devices.append(sub.device_id)
            own = positions[sub.device_id] = len(rows.devices)
        for subject_id, sensor_type, ts, value, hub_id in zip(
            sub.subjects, sub.sensor_types, sub.timestamps, sub.values, sub.hub_ids, strict=True
        ):
            if subject_id is sub.device_id:  # `submit` puts the very same object there
                subject = own
            else:
                found = positions.get(subject_id)
                if found is None:
                    rows.devices.append(subject_id)
                    found = positions[subject_id] = len(rows.devices)
                subject = found
            micros = (ts - _EPOCH) // _MICROSECOND
            key = (subject, sensor_type, micros)
            if key in keys:
                rows.repeats[owner] += 1
                continue
            keys.add(key)
            rows.subjects.append(subject)
            rows.sensor_types.append(sensor_type)
            rows.micros.append(micros)
            rows.values.append(value)
            if hub_id is None:
                rows.hubs.append(None)
            else:
                hub = positions.get(hub_id)
                if hub is None:
                    rows.devices.append(hub_id)
                    hub = positions[hub_id] = len(rows.devices)
                rows.hubs.append(hub)
                rows.seen.setdefault(subject_id, (None, None))
            rows.owners.append(owner)
    return rows


class IngestWriter:
    def __init__(
        self,
        pool: asyncpg.Pool,
        *,
        engine: str,
        max_wait: float = 0.002,
        max_pending: int = 200_000,
        max_batch: int = 5_000,
        concurrency: int = 1,
        commit_timeout: float = 10.0,
    ) -> None:
        self.pool = pool
        self.statement = repository.ingest_statement(engine)
        self.new_only_statement = repository.ingest_statement(engine, new_only=True)
        self.checked_groups_left = 0  # groups still to write with the full statement
        self.max_wait = max_wait
        self.max_pending = max_pending
        self.max_batch = max_batch
        self.commit_timeout = commit_timeout
        self.concurrency = concurrency
        self._queue: list[Submission] = []
        self._queued = asyncio.Event()
        # Readings accepted by `submit` and not yet answered (queued or in a commit in flight).
        self.pending_readings = 0
        self.commits = 0  # committed transactions, for tests and the benchmark

    async def submit(self, device_id: UUID, batch: ValidatedBatch) -> int:
        """Commit the batch's valid readings; return how many were already stored."""
        size = len(batch.indexes)
        if self.pending_readings + size > self.max_pending:
            metrics.ingest_pending(self.pending_readings)  # saturated: show it before a commit
            raise Unavailable("Ingest is saturated; retry shortly", retry_after=1)
        subjects = [device_id if s is None else s for s in batch.sensor_ids]
        hub_ids = [None if s is None else device_id for s in batch.sensor_ids]
        submission = Submission(
            device_id,
            subjects,
            batch.sensor_types,
            batch.timestamps,
            batch.values,
            hub_ids,
            batch.latitude,
            batch.longitude,
            asyncio.get_running_loop().create_future(),
        )
        self.pending_readings += size
        self._queue.append(submission)
        self._queued.set()
        return await submission.future

    async def run(self) -> None:
        """The commit loops (`concurrency` of them); run for the life of the process."""
        await asyncio.gather(*(self._commit_forever() for _ in range(self.concurrency)))

    async def _commit_forever(self) -> None:
        # A commit loop that ended on an unexpected error would leave every later request
        # waiting for an answer that never comes: log it and start the loop again.
        while True:
            try:
                await self._committer()
            except Exception:
                log.exception("ingest commit loop failed; restarting it")
                await asyncio.sleep(0.1)

    async def _committer(self) -> None:
        # A connection is held while there is work and given back when the queue is empty:
        # no pool round trip (and no reset query) per commit under load, and no connection
        # kept from the rest of the process when idle.
        conn: asyncpg.Connection | None = None
        try:
            while True:
                idle = False
                while not self._queue:
                    if conn is not None:
                        await self._give_back(conn)
                        conn = None
                        continue  # requests may have queued meanwhile: look again first
                    idle = True
                    self._queued.clear()
                    await self._queued.wait()
                # Coming back from a commit to a non-empty queue, the requests that arrived
                # meanwhile ARE the group: commit them now (under load a commit is always in
                # flight, so groups grow by themselves and no one sleeps). Waking from idle,
                # wait up to max_wait for the first request's concurrent company.
                if idle and self.max_wait > 0 and self._queued_readings() < self.max_batch:
                    await asyncio.sleep(self.max_wait)
                group = self._take()
                if not group:
                    continue
                try:
                    if conn is None:
                        async with asyncio.timeout(self.commit_timeout):
                            conn = await self.pool.acquire()
                    await self._commit(conn, group)
                except Exception as exc:
                    self._fail_unavailable(group, exc)
                    if conn is not None:
                        # State unknown after a failure: never reuse it. A connection lost
                        # mid-query may already be detached from the pool, and then
                        # terminate() raises: that must not end the commit loop.
                        with contextlib.suppress(Exception):
                            conn.terminate()
                        await self._give_back(conn)
                        conn = None
                finally:
                    # Anyone in the group still waiting (cancelled at shutdown) gets 503, never
                    # silence; the futures already answered are left alone.
                    self._fail(group, Unavailable("Server is shutting down; retry", retry_after=1))
                    self.pending_readings -= sum(s.size for s in group)
                    metrics.ingest_pending(self.pending_readings)  # once per commit
        finally:
            if conn is not None:
                await self._give_back(conn)

    async def _give_back(self, conn: asyncpg.Connection) -> None:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(self.commit_timeout):
                await self.pool.release(conn)

    async def close(self) -> None:
        """Refuse whatever is still queued (the commit loops are cancelled by the services)."""
        self._fail(self._queue, Unavailable("Server is shutting down; retry", retry_after=1))
        self.pending_readings -= sum(s.size for s in self._queue)
        self._queue = []

    def _queued_readings(self) -> int:
        return sum(s.size for s in self._queue)

    def _take(self) -> list[Submission]:
        taken = 0
        for count, sub in enumerate(self._queue):
            if taken and taken + sub.size > self.max_batch:
                group, self._queue = self._queue[:count], self._queue[count:]
                return group
            taken += sub.size
        group, self._queue = self._queue, []
        return group

    async def _commit(self, conn: asyncpg.Connection, group: list[Submission]) -> None:
        """Commit a group and answer it; a dependency failure propagates (503 by the caller)."""
        try:
            results = await self._write_with_retries(conn, group)
        except DEPENDENCY_ERRORS:
            raise
        except Exception as exc:
            if len(group) == 1:
                log.error("ingest commit failed", exc_info=exc)
                self._fail(group, exc)
                return
            # A statement error (a bug, or data the database refuses) must not fail the
            # neighbours that happened to share the commit: write each request on its own.
            log.warning("ingest group failed (%s); committing requests one by one", exc)
            for sub in group:
                await self._commit(conn, [sub])
            return
        for sub, duplicates in zip(group, results, strict=True):
            if not sub.future.done():
                sub.future.set_result(duplicates)

    def _fail_unavailable(self, group: list[Submission], exc: Exception) -> None:
        log.warning("ingest commit failed (%s); answering 503", type(exc).__name__)
        self._fail(group, Unavailable("Database unavailable; retry shortly", retry_after=2))

    @staticmethod
    def _fail(group: Iterable[Submission], exc: BaseException) -> None:
        for sub in group:
            if not sub.future.done():
                sub.future.set_exception(exc)

    async def _write_with_retries(
        self, conn: asyncpg.Connection, group: list[Submission]
    ) -> list[int]:
        rows = gather(group)
        failed_attempts = 0
        while True:
            checked = self.checked_groups_left > 0
            try:
                started = time.perf_counter()
                async with asyncio.timeout(self.commit_timeout):
                    duplicate_positions = await repository.write_group(
                        conn, self.statement if checked else self.new_only_statement, rows
                    )
                metrics.ingest_commit(time.perf_counter() - started)
            except asyncpg.exceptions.UniqueViolationError:
                if checked:
                    raise
                # A reading is stored already; nothing of this attempt was committed.
                self.checked_groups_left = _CHECKED_GROUPS
                continue
            except _RETRYABLE:
                failed_attempts += 1
                if failed_attempts == _ATTEMPTS:
                    raise
                await asyncio.sleep(0.005 * failed_attempts)
                continue
            self.commits += 1
            if checked:
                self.checked_groups_left -= 1
            duplicates = list(rows.repeats)
            for position in duplicate_positions:
                duplicates[rows.owners[position - 1]] += 1
            return duplicates
