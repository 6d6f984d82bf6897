"""SQL for webhooks, their delivery queue and the attempt log."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias
from uuid import UUID

import asyncpg

Conn: TypeAlias = asyncpg.Connection | asyncpg.Pool

_WEBHOOK_COLUMNS = "webhook_id, url, created_at"


@dataclass(frozen=True, slots=True)
class Webhook:
    """A registered endpoint as the API shows it (`WebhookOut` reads these attributes); the
    secret stays in the database."""

    webhook_id: UUID
    url: str
    created_at: datetime


@dataclass(frozen=True, slots=True)
class DeliveryAttempt:
    """One logged attempt of a delivery."""

    attempt: int
    attempted_at: datetime
    status_code: int | None
    error: str | None
    duration_ms: float


@dataclass(frozen=True, slots=True)
class Delivery:
    """A queued event for one endpoint, with its attempts, as the operator sees it
    (`DeliveryOut` reads these attributes); `next_attempt_at` only while pending."""

    delivery_id: int
    event_type: str
    alert_id: UUID
    state: str
    attempts: int
    next_attempt_at: datetime | None
    last_attempt_at: datetime | None
    last_status: int | None
    last_error: str | None
    delivered_at: datetime | None
    created_at: datetime
    attempt_log: tuple[DeliveryAttempt, ...]


@dataclass(frozen=True, slots=True)
class ClaimedDelivery:
    """A delivery the sender leased: what to POST where, signed with which secret."""

    delivery_id: int
    webhook_id: UUID
    event_type: str
    alert: Any  # the alert's JSON document, as queued
    attempts: int
    url: str
    secret: str


def _webhook(row: asyncpg.Record) -> Webhook:
    return Webhook(webhook_id=row["webhook_id"], url=row["url"], created_at=row["created_at"])


def _attempt(item: dict[str, Any]) -> DeliveryAttempt:
    # An element of the `attempt_log` JSON array: its time comes as an RFC 3339 string.
    return DeliveryAttempt(
        attempt=item["attempt"],
        attempted_at=datetime.fromisoformat(item["attempted_at"]),
        status_code=item["status_code"],
        error=item["error"],
        duration_ms=item["duration_ms"],
    )


def _delivery(row: asyncpg.Record) -> Delivery:
    return Delivery(
        delivery_id=row["delivery_id"],
        event_type=row["event_type"],
        alert_id=row["alert_id"],
        state=row["state"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        last_attempt_at=row["last_attempt_at"],
        last_status=row["last_status"],
        last_error=row["last_error"],
        delivered_at=row["delivered_at"],
        created_at=row["created_at"],
        attempt_log=tuple(_attempt(item) for item in row["attempt_log"]),
    )


async def has_live_webhooks(conn: asyncpg.Connection) -> bool:
    live: bool = await conn.fetchval(
        "SELECT EXISTS (SELECT 1 FROM webhooks WHERE deleted_at IS NULL)"
    )
    return live


async def enqueue_deliveries(
    conn: asyncpg.Connection, events: Sequence[tuple[str, UUID]], documents: dict[UUID, Any]
) -> None:
    """Queue one delivery per (event, live webhook) with the alert's document (events whose
    alert has no document are skipped)."""
    present = [(kind, alert_id) for kind, alert_id in events if alert_id in documents]
    await conn.execute(
        """INSERT INTO webhook_deliveries (webhook_id, alert_id, event_type, alert)
           SELECT w.webhook_id, e.alert_id, e.event_type, e.alert
           FROM unnest($1::text[], $2::uuid[], $3::jsonb[]) WITH ORDINALITY
                AS e(event_type, alert_id, alert, n)
           CROSS JOIN webhooks w WHERE w.deleted_at IS NULL
           ORDER BY e.n, w.webhook_id""",
        [kind for kind, _ in present],
        [alert_id for _, alert_id in present],
        [documents[alert_id] for _, alert_id in present],
    )


async def create_webhook(conn: Conn, url: str, secret: str) -> Webhook:
    row = await conn.fetchrow(
        f"INSERT INTO webhooks (url, secret) VALUES ($1, $2) RETURNING {_WEBHOOK_COLUMNS}",
        url,
        secret,
    )
    return _webhook(row)


async def list_webhooks(
    conn: Conn, after: tuple[datetime, UUID] | None, limit: int
) -> list[Webhook]:
    if after is None:
        rows = await conn.fetch(
            f"""SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE deleted_at IS NULL
                ORDER BY created_at, webhook_id LIMIT $1""",
            limit,
        )
    else:
        rows = await conn.fetch(
            f"""SELECT {_WEBHOOK_COLUMNS} FROM webhooks
                WHERE deleted_at IS NULL AND (created_at, webhook_id) > ($1, $2)
                ORDER BY created_at, webhook_id LIMIT $3""",
            after[0],
            after[1],
            limit,
        )
    return [_webhook(row) for row in rows]


async def get_webhook(conn: Conn, webhook_id: UUID) -> Webhook | None:
    row = await conn.fetchrow(
        f"SELECT {_WEBHOOK_COLUMNS} FROM webhooks WHERE webhook_id = $1 AND deleted_at IS NULL",
        webhook_id,
    )
    return None if row is None else _webhook(row)


async def delete_webhook(conn: asyncpg.Connection, webhook_id: UUID) -> bool:
    deleted = await conn.fetchval(
        """UPDATE webhooks SET deleted_at = now()
           WHERE webhook_id = $1 AND deleted_at IS NULL RETURNING true""",
        webhook_id,
    )
    await conn.execute(
        """UPDATE webhook_deliveries SET state = 'cancelled'
           WHERE webhook_id = $1 AND state = 'pending'""",
        webhook_id,
    )
    return bool(deleted)


async def list_deliveries(
    conn: Conn, webhook_id: UUID, state: str | None, before: int | None, limit: int
) -> list[Delivery]:
    rows = await conn.fetch(
        """SELECT d.delivery_id, d.event_type, d.alert_id, d.state, d.attempts,
                  CASE WHEN d.state = 'pending' THEN d.next_attempt_at END AS next_attempt_at,
                  d.last_attempt_at, d.last_status, d.last_error,
                  d.delivered_at, d.created_at,
                  coalesce((SELECT jsonb_agg(jsonb_build_object(
                                'attempt', t.attempt, 'attempted_at', t.attempted_at,
                                'status_code', t.status_code, 'error', t.error,
                                'duration_ms', t.duration_ms) ORDER BY t.attempt)
                            FROM webhook_attempts t WHERE t.delivery_id = d.delivery_id),
                           '[]'::jsonb) AS attempt_log
           FROM webhook_deliveries d
           WHERE d.webhook_id = $1 AND ($2::text IS NULL OR d.state = $2)
             AND ($3::bigint IS NULL OR d.delivery_id < $3)
           ORDER BY d.delivery_id DESC LIMIT $4""",
        webhook_id,
        state,
        before,
        limit,
    )
    return [_delivery(row) for row in rows]


# --- the sender ------------------------------------------------------------------------------


async def claim_due(
    conn: Conn,
    *,
    limit: int,
    per_webhook: int,
    lease_seconds: float,
    sending: Mapping[UUID, int] | None = None,
) -> list[ClaimedDelivery]:
    """Lease up to `limit` due deliveries, at most `per_webhook` per endpoint counting the
    `sending` ones this sender already has in flight (so one slow endpoint cannot take every
    slot), each endpoint's oldest first and the endpoints with the fewest in flight first (a
    backlog of retries to slow or dead endpoints does not crowd out fresh events). Their next
    attempt moves `lease_seconds` ahead, so a sender that dies mid-send leaves them to be
    retried, and two senders never both take one (the UPDATE re-checks `next_attempt_at` on
    the row it locked)."""
    busy = dict(sending or {})
    rows = await conn.fetch(
        """UPDATE webhook_deliveries d
           SET next_attempt_at = now() + make_interval(secs => $3), attempts = d.attempts + 1
           FROM webhooks w, (
               SELECT due.delivery_id FROM (
                   SELECT delivery_id, webhook_id, next_attempt_at, row_number() OVER (
                              PARTITION BY webhook_id ORDER BY next_attempt_at, delivery_id) AS n
                   FROM webhook_deliveries
                   WHERE state = 'pending' AND next_attempt_at <= now()) due
               LEFT JOIN unnest($4::uuid[], $5::int[]) AS busy(webhook_id, sending)
                   ON busy.webhook_id = due.webhook_id
               WHERE due.n + coalesce(busy.sending, 0) <= $2
               ORDER BY due.n + coalesce(busy.sending, 0), due.next_attempt_at LIMIT $1) pick
           WHERE d.delivery_id = pick.delivery_id AND w.webhook_id = d.webhook_id
             AND d.state = 'pending' AND d.next_attempt_at <= now()
           RETURNING d.delivery_id, d.webhook_id, d.event_type, d.alert, d.attempts, w.url,
                     w.secret""",
        limit,
        per_webhook,
        lease_seconds,
        list(busy),
        list(busy.values()),
    )
    return [
        ClaimedDelivery(
            delivery_id=row["delivery_id"],
            webhook_id=row["webhook_id"],
            event_type=row["event_type"],
            alert=row["alert"],
            attempts=row["attempts"],
            url=row["url"],
            secret=row["secret"],
        )
        for row in rows
    ]


async def record_attempt(
    conn: Conn,
    *,
    delivery_id: int,
    attempt: int,
    status_code: int | None,
    error: str | None,
    duration_ms: float,
    delivered: bool,
    retry_in: float | None,
) -> None:
    """Log the attempt and settle the delivery: delivered, retried after `retry_in` seconds,
    or (retry_in None) failed for good."""
    await conn.execute(
        """WITH logged AS (
               INSERT INTO webhook_attempts (delivery_id, attempt, status_code, error, duration_ms)
               VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING)
           UPDATE webhook_deliveries SET
               last_attempt_at = now(), last_status = $3, last_error = $4,
               state = CASE WHEN $6 THEN 'delivered' WHEN $7::float8 IS NULL THEN 'failed'
                            ELSE 'pending' END,
               delivered_at = CASE WHEN $6 THEN now() END,
               next_attempt_at = CASE WHEN $7::float8 IS NULL THEN next_attempt_at
                                      ELSE now() + make_interval(secs => $7::float8) END
           WHERE delivery_id = $1 AND state = 'pending'""",
        delivery_id,
        attempt,
        status_code,
        error,
        duration_ms,
        delivered,
        retry_in,
    )
