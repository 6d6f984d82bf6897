"""The ingest statement writes the outbox the alert system reads: one shard count, one shape."""

from __future__ import annotations

import re

from climasense.alerts.outbox import OUTBOX_CTE, SHARD_MASK, shard_expression
from climasense.alerts.shards import SHARD_COUNT, ShardLeases
from climasense.telemetry.repository import ingest_statement


def test_the_shard_mask_covers_exactly_the_evaluators_shards() -> None:
    assert SHARD_MASK + 1 == SHARD_COUNT
    assert SHARD_COUNT & SHARD_MASK == 0  # a power of two: masking is modulo
    # Every shard a masked hash can produce is one the evaluators lease, and no other.
    leases = ShardLeases(conn=None, shard_count=SHARD_COUNT)  # type: ignore[arg-type]
    assert leases.shard_count == SHARD_COUNT
    assert shard_expression("d") == f"hashtext(d::text) & {SHARD_COUNT - 1}"


def test_the_ingest_statement_composes_the_alerts_outbox_fragment() -> None:
    for engine in ("postgresql", "timescaledb"):
        statement = ingest_statement(engine)
        assert OUTBOX_CTE in statement
        # The shard is written only through the fragment: no other mask in the statement.
        masks = re.findall(r"&\s*(\d+)", statement)
        assert masks == [str(SHARD_MASK)]
