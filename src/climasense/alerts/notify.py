"""Alert events to webhooks: the alert's document, as it is now in this transaction, queued for
every live webhook (`webhooks.repository.enqueue_deliveries`)."""

from __future__ import annotations

from collections.abc import Sequence
from uuid import UUID

import asyncpg
import orjson

from climasense.alerts import repository
from climasense.http.responses import dumps
from climasense.webhooks.repository import enqueue_deliveries, has_live_webhooks


async def enqueue_alert_events(
    conn: asyncpg.Connection, events: Sequence[tuple[str, UUID]]
) -> None:
    """Queue one delivery per (event, live webhook). Called in the transaction that changed
    the alerts."""
    if not events or not await has_live_webhooks(conn):
        return
    found = await repository.alerts_by_id(conn, list({alert_id for _, alert_id in events}))
    # Serialised as the API shows it (RFC 3339 `Z` times), then stored as jsonb.
    documents = {a.alert_id: orjson.loads(dumps(a.document())) for a in found}
    await enqueue_deliveries(conn, events, documents)
