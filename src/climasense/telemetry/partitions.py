"""Range partitions of `readings` on plain PostgreSQL: created ahead, dropped by retention.

Partitions are `partition_days` wide, aligned on the Unix epoch, and named after their first
day (`readings_p20261123`). The storage job keeps them covering everything a device may still
send — from the backfill limit (or retention, if shorter) to two partitions past now — and
drops those wholly older than retention. Anything outside them (the job was down for weeks)
lands in `readings_default`; creating a partition moves such rows into it in the same
transaction, so no reading is ever refused or lost for want of a partition.

A new partition is built as a standalone table, filled from the default partition, then
ATTACHed: ATTACH only takes SHARE UPDATE EXCLUSIVE on `readings`, so ingest keeps running
(CREATE TABLE … PARTITION OF would lock the whole table). Dropping a partition does need an
exclusive lock: it is tried with a short lock_timeout and retried next round if ingest is busy.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

log = logging.getLogger(__name__)

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
AHEAD = 2  # partitions kept ready past the current one


@dataclass(frozen=True, slots=True)
class Span:
    lower: datetime
    upper: datetime

    @property
    def name(self) -> str:
        return f"readings_p{self.lower:%Y%m%d}"

    def overlaps(self, other: Span) -> bool:
        return self.lower < other.upper and other.lower < self.upper


def aligned(ts: datetime, width: timedelta) -> Span:
    """The grid cell of `width` (epoch-aligned) holding `ts`."""
    lower = EPOCH + ((ts - EPOCH) // width) * width
    return Span(lower, lower + width)


def wanted(
    now: datetime, partition_days: int, backfill_days: int, retention_days: int
) -> list[Span]:
    """Grid cells from the oldest timestamp still accepted to AHEAD cells past now."""
    width = timedelta(days=partition_days)
    oldest = now - timedelta(days=min(backfill_days, retention_days))
    cell = aligned(oldest, width)
    last = aligned(now, width).lower + AHEAD * width
    spans = []
    while cell.lower <= last:
        spans.append(cell)
        cell = Span(cell.upper, cell.upper + width)
    return spans


def gaps(span: Span, existing: list[Span]) -> list[Span]:
    """The parts of `span` no existing partition covers (partition_days may have changed)."""
    pieces = [span]
    for other in sorted(existing, key=lambda s: s.lower):
        next_pieces = []
        for piece in pieces:
            if not piece.overlaps(other):
                next_pieces.append(piece)
                continue
            if piece.lower < other.lower:
                next_pieces.append(Span(piece.lower, other.lower))
            if other.upper < piece.upper:
                next_pieces.append(Span(other.upper, piece.upper))
        pieces = next_pieces
    return pieces


async def existing(conn: asyncpg.Connection) -> list[Span]:
    rows = await conn.fetch("SELECT lower, upper FROM reading_partitions ORDER BY lower")
    return [Span(r["lower"], r["upper"]) for r in rows]


def _literal(ts: datetime) -> str:
    # ATTACH … FOR VALUES takes literals, not parameters; these come from our own datetimes.
    return "'" + ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S+00") + "'"


async def create(conn: asyncpg.Connection, span: Span) -> int:
    """Create and attach one partition; return how many rows moved in from the default."""
    name = span.name
    await conn.execute(
        f"CREATE TABLE {name} (LIKE readings INCLUDING DEFAULTS INCLUDING CONSTRAINTS)"
    )
    moved = await conn.fetchval(
        f"""WITH moved AS (
                DELETE FROM readings_default WHERE ts >= $1 AND ts < $2
                RETURNING device_id, sensor_type, ts, value, hub_id)
            , ins AS (INSERT INTO {name} (device_id, sensor_type, ts, value, hub_id)
                      SELECT * FROM moved RETURNING 1)
            SELECT count(*) FROM ins""",
        span.lower,
        span.upper,
    )
    await conn.execute(
        f"ALTER TABLE readings ATTACH PARTITION {name} "
        f"FOR VALUES FROM ({_literal(span.lower)}) TO ({_literal(span.upper)})"
    )
    await conn.execute(
        "INSERT INTO reading_partitions (name, lower, upper) VALUES ($1, $2, $3)",
        name,
        span.lower,
        span.upper,
    )
    return int(moved)


async def ensure(
    conn: asyncpg.Connection,
    now: datetime,
    *,
    partition_days: int,
    backfill_days: int,
    retention_days: int,
) -> list[str]:
    """Create every missing partition of the accepted time range; return their names."""
    have = await existing(conn)
    created = []
    for span in wanted(now, partition_days, backfill_days, retention_days):
        for piece in gaps(span, have):
            moved = await create(conn, piece)
            have.append(piece)
            created.append(piece.name)
            if moved:
                log.info("partition %s created; %d readings moved in", piece.name, moved)
    return created


async def drop_expired(
    conn: asyncpg.Connection, now: datetime, *, retention_days: int, lock_timeout: str = "1s"
) -> list[str]:
    """Drop partitions wholly older than retention (and expired rows of the default and of
    the hourly rollups); return the partitions dropped."""
    cutoff = now - timedelta(days=retention_days)
    dropped = []
    names = await conn.fetch(
        "SELECT name FROM reading_partitions WHERE upper <= $1 ORDER BY lower", cutoff
    )
    for row in names:
        try:
            async with conn.transaction():  # a savepoint: a lock timeout skips only this one
                await conn.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
                await conn.execute(f"DROP TABLE IF EXISTS {row['name']}")
                await conn.execute("DELETE FROM reading_partitions WHERE name = $1", row["name"])
        except asyncpg.exceptions.LockNotAvailableError:
            log.info("partition %s busy; dropping it next round", row["name"])
            continue
        dropped.append(row["name"])
    await conn.execute("RESET lock_timeout")
    await conn.execute("DELETE FROM readings_default WHERE ts < $1", cutoff)
    # Rollups go with the raw readings they summarise: a partition is kept until it is wholly
    # past retention, so are the hours it holds.
    oldest_kept = await conn.fetchval("SELECT min(lower) FROM reading_partitions")
    rollup_cutoff = min(cutoff, oldest_kept) if oldest_kept is not None else cutoff
    await conn.execute("DELETE FROM readings_hourly WHERE bucket < $1", rollup_cutoff)
    await conn.execute("DELETE FROM rollup_invalidations WHERE bucket < $1", rollup_cutoff)
    return dropped
