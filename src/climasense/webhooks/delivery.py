"""The delivery loop: leases due deliveries, sends them concurrently, and records every
attempt; failures are retried with exponential backoff (with jitter) until
`webhook_max_attempts`, then the delivery is marked failed. Runs apart from evaluation, so a
dead endpoint only ever delays its own deliveries."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import asyncpg

from climasense.http.responses import dumps
from climasense.observability import metrics
from climasense.webhooks import repository
from climasense.webhooks.repository import ClaimedDelivery
from climasense.webhooks.sender import SIGNATURE_HEADER, WebhookSender, sign, standard_headers

if TYPE_CHECKING:
    from climasense.alert_settings import AlertSettings
    from climasense.services import Services

log = logging.getLogger(__name__)
# Our own generator: the module-wide one is shared state (a seed set by a caller, hypothesis's
# check that nothing draws from it while it generates), and jitter needs no seed.
_jitter = random.Random()


def backoff_seconds(attempt: int, base: float, cap: float) -> float:
    """Delay before the attempt after `attempt` (1-based): base·2^(attempt-1), ±20 %, capped."""
    delay = min(cap, base * 2 ** (attempt - 1))
    return delay * _jitter.uniform(0.8, 1.2)


def event_body(event_type: str, alert: dict[str, Any]) -> bytes:
    return dumps({"type": event_type, "alert": alert, "sent_at": datetime.now(UTC)})


async def deliver_due(pool: asyncpg.Pool, sender: WebhookSender, settings: AlertSettings) -> int:
    """One round: lease due deliveries, send them, record the outcomes; return how many."""
    claimed = await repository.claim_due(
        pool,
        limit=settings.webhook_batch_size,
        per_webhook=settings.webhook_per_endpoint,
        lease_seconds=settings.webhook_timeout_seconds * 2 + 10,
    )
    if claimed:
        await asyncio.gather(*(_deliver(pool, sender, settings, row) for row in claimed))
    return len(claimed)


async def _deliver(
    pool: asyncpg.Pool, sender: WebhookSender, settings: AlertSettings, row: ClaimedDelivery
) -> None:
    body = event_body(row.event_type, row.alert)
    headers = {
        "Content-Type": "application/json",
        SIGNATURE_HEADER: sign(body, row.secret),
        "X-ClimaSense-Event": row.event_type,
        "X-ClimaSense-Delivery": str(row.delivery_id),
        # The same id on every retry of a delivery, a fresh timestamp per attempt.
        **standard_headers(f"msg_{row.delivery_id}", int(time.time()), body, row.secret),
    }
    started = time.perf_counter()
    result = await sender.send(row.url, body, headers)
    elapsed_ms = (time.perf_counter() - started) * 1000
    attempt = row.attempts
    retry_in = None
    if not result.delivered and attempt < settings.webhook_max_attempts:
        retry_in = backoff_seconds(
            attempt, settings.webhook_retry_base_seconds, settings.webhook_retry_max_seconds
        )
    metrics.webhook_delivery(
        "delivered" if result.delivered else "retry" if retry_in is not None else "failed"
    )
    await repository.record_attempt(
        pool,
        delivery_id=row.delivery_id,
        attempt=attempt,
        status_code=result.status_code,
        error=result.error,
        duration_ms=elapsed_ms,
        delivered=result.delivered,
        retry_in=retry_in,
    )


async def run_delivery(services: Services) -> None:
    settings = services.settings.alerts
    while True:
        sent = await deliver_due(services.pool, services.webhook_sender, settings)
        if sent < settings.webhook_batch_size:
            await asyncio.sleep(settings.webhook_poll_seconds)
