"""Clients that keep writing while a fault is injected, retrying as the contract tells them
(503 + Retry-After, or a dropped connection), and a record of every answer they got."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

import httpx

# A client waits Retry-After seconds before retrying; the tests shorten that wait (the header
# itself is checked on every 503) so that a 2-second outage does not take a minute.
RETRY_PAUSE = 0.2


@dataclass
class Answer:
    at: float  # time.monotonic() when the answer (or the failure) arrived
    status: int | None  # None: no HTTP answer (connection refused/reset, timeout)
    retry_after: str | None = None
    error: str | None = None
    body: bytes = b""


@dataclass
class Journal:
    answers: list[Answer] = field(default_factory=list)

    def statuses(self) -> Counter[int | None]:
        return Counter(a.status for a in self.answers)

    def unexpected(self, allowed: set[int | None]) -> list[Answer]:
        return [a for a in self.answers if a.status not in allowed]

    def unavailable_without_retry_after(self) -> list[Answer]:
        return [
            a
            for a in self.answers
            if a.status == 503
            and (not (a.retry_after or "").isdigit() or b'"unavailable"' not in a.body)
        ]

    def first_success_after(self, moment: float) -> float | None:
        times = [a.at for a in self.answers if a.status is not None and a.status < 300]
        later = [t for t in times if t >= moment]
        return min(later) - moment if later else None


Send = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


async def deliver(
    clients: Sequence[httpx.AsyncClient], send: Send, journal: Journal, *, deadline: float
) -> httpx.Response | None:
    """Send until an answer other than 503 arrives, or `deadline`; every attempt goes in the
    journal. A 503 or a dropped connection is retried (on the next client, when there are
    several, as a load balancer would)."""
    attempt = 0
    while time.monotonic() < deadline:
        client = clients[attempt % len(clients)]
        attempt += 1
        try:
            response = await send(client)
        except httpx.TransportError as exc:
            journal.answers.append(Answer(time.monotonic(), None, error=type(exc).__name__))
            await asyncio.sleep(RETRY_PAUSE)
            continue
        journal.answers.append(
            Answer(
                time.monotonic(),
                response.status_code,
                response.headers.get("retry-after"),
                body=response.content,
            )
        )
        if response.status_code != 503:
            return response
        await asyncio.sleep(RETRY_PAUSE)
    return None
