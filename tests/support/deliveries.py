"""What a webhook test prints when an event does not arrive in time: the webhook's deliveries
with every attempt (operator API), the whole delivery queue the sender shares with every other
live webhook of the database (leftovers of other tests included), and when each event reached
the receiver — so a timeout says whether the event was late to be queued, to be claimed, or
to be sent."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import asyncpg
import httpx

from tests.support.factories import bearer
from tests.support.receiver import Receiver


async def slowest_seconds(client: httpx.AsyncClient, token: str, webhook_id: str) -> float:
    """The longest a delivered event of the webhook waited between queued and delivered."""
    answer = await client.get(
        f"/admin/v1/webhooks/{webhook_id}/deliveries",
        params={"limit": "1000", "state": "delivered"},
        headers=bearer(token),
    )
    assert answer.status_code == 200, answer.text
    return max(
        (
            datetime.fromisoformat(d["delivered_at"]) - datetime.fromisoformat(d["created_at"])
        ).total_seconds()
        for d in answer.json()["deliveries"]
    )


async def delivery_log(client: httpx.AsyncClient, token: str, webhook_id: str) -> str:
    """One line per delivery of the webhook (oldest first) and one per attempt."""
    answer = await client.get(
        f"/admin/v1/webhooks/{webhook_id}/deliveries",
        params={"limit": "1000"},
        headers=bearer(token),
    )
    if answer.status_code != 200:
        return f"deliveries: {answer.status_code} {answer.text[:300]}"
    lines = []
    for d in reversed(answer.json()["deliveries"]):
        lines.append(
            f"  #{d['delivery_id']} {d['event_type']} alert={d['alert_id']} {d['state']} "
            f"attempts={d['attempts']} created={d['created_at']} next={d['next_attempt_at']} "
            f"delivered={d['delivered_at']}"
        )
        lines.extend(
            f"      attempt {a['attempt']} at {a['attempted_at']}: {a['status_code']} "
            f"{a['error'] or ''} ({a['duration_ms']:.0f} ms)"
            for a in d["attempt_log"]
        )
    return "deliveries of our webhook:\n" + "\n".join(lines)


async def queue_summary(database_url: str) -> str:
    """Every live webhook's share of the queue: what the one sender is busy with."""
    conn = await asyncpg.connect(database_url)
    try:
        rows = await conn.fetch(
            """SELECT w.url, d.state, count(DISTINCT d.delivery_id) AS n,
                      min(d.next_attempt_at) FILTER (WHERE d.state = 'pending') AS next_due,
                      max(d.attempts) AS most_attempts,
                      max(t.duration_ms) AS slowest_ms
               FROM webhooks w JOIN webhook_deliveries d USING (webhook_id)
               LEFT JOIN webhook_attempts t USING (delivery_id)
               WHERE w.deleted_at IS NULL
               GROUP BY w.url, d.state ORDER BY w.url, d.state"""
        )
        live = await conn.fetchval("SELECT count(*) FROM webhooks WHERE deleted_at IS NULL")
        now = await conn.fetchval("SELECT now()")
    finally:
        await conn.close()
    lines = [f"queue at {now.isoformat()}: {live} live webhooks"]
    lines.extend(
        f"  {r['url'][:80]} {r['state']}: {r['n']} (next due {r['next_due']}, "
        f"up to {r['most_attempts']} attempts, slowest {r['slowest_ms']} ms)"
        for r in rows
    )
    return "\n".join(lines)


def arrivals(endpoint: Receiver) -> str:
    lines = []
    for request in endpoint.requests:
        at = datetime.fromtimestamp(request.at, UTC).isoformat()
        try:
            event = json.loads(request.body)
            what = f"{event['type']} alert={event['alert']['alert_id']}"
        except (ValueError, KeyError, TypeError):
            what = repr(request.body[:80])
        lines.append(f"  {at} delivery={request.headers.get('x-climasense-delivery')} {what}")
    return "received:\n" + "\n".join(lines)


async def report(
    client: httpx.AsyncClient,
    token: str,
    webhook_id: str,
    database_url: str,
    endpoint: Receiver,
    worker_log: str,
) -> str:
    return "\n".join(
        [
            await delivery_log(client, token, webhook_id),
            await queue_summary(database_url),
            arrivals(endpoint),
            "worker log (tail):",
            worker_log,
        ]
    )
