"""The delivery loop: leases due deliveries, sends them concurrently, and records every
attempt; failures are retried with exponential backoff (with jitter) until
`webhook_max_attempts`, then the delivery is marked failed. Runs apart from evaluation, and
each delivery settles on its own (no round waits for its slowest send), so a slow or dead
endpoint only ever delays its own deliveries."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import time
from collections import Counter
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

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
    """Keep up to `webhook_batch_size` deliveries in flight, claiming due ones as slots free
    up. Each delivery settles on its own: no claim waits for the slowest send of the one
    before, so an endpoint that takes the whole timeout holds up only its own slots (at most
    `webhook_per_endpoint`), never another endpoint's events."""
    settings = services.settings.alerts
    in_flight: dict[asyncio.Task[None], UUID] = {}
    try:
        while True:
            free = settings.webhook_batch_size - len(in_flight)
            claimed = []
            if free > 0:
                claimed = await repository.claim_due(
                    services.pool,
                    limit=free,
                    per_webhook=settings.webhook_per_endpoint,
                    lease_seconds=settings.webhook_timeout_seconds * 2 + 10,
                    sending=Counter(in_flight.values()),
                )
            for row in claimed:
                task = asyncio.create_task(
                    _deliver(services.pool, services.webhook_sender, settings, row)
                )
                in_flight[task] = row.webhook_id
                task.add_done_callback(functools.partial(_settled, in_flight))
            if len(claimed) < free:
                await asyncio.sleep(settings.webhook_poll_seconds)  # nothing more is due
            else:
                await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in in_flight:
            task.cancel()
        await asyncio.gather(*in_flight, return_exceptions=True)


def _settled(in_flight: dict[asyncio.Task[None], UUID], task: asyncio.Task[None]) -> None:
    in_flight.pop(task, None)
    if not task.cancelled() and (error := task.exception()) is not None:
        # The attempt went unrecorded: its lease runs out and it is sent again then.
        log.error("webhook delivery failed to settle", exc_info=error)
