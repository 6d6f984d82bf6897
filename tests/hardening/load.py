"""Clients that keep writing while a fault is injected, retrying as the contract tells them
(503 + Retry-After, or a dropped connection), and a record of every answer they got."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
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


@dataclass
class TelemetryLoad:
    """Devices submitting batches of readings, each reading unique (device, type, timestamp)
    and carrying a value to find again; a batch is retried until it gets its 202."""

    keys: dict[str, str]  # device_id -> key
    batches: int
    per_batch: int = 20
    pace: float = 0.03
    journal: Journal = field(default_factory=Journal)
    # (device_id, timestamp) -> value, for every reading of a batch that was answered 202
    confirmed: dict[tuple[str, datetime], float] = field(default_factory=dict)
    sent: dict[tuple[str, datetime], float] = field(default_factory=dict)
    duplicates: int = 0
    unconfirmed_batches: int = 0
    # One reading per second going back from here: distinct timestamps across all batches.
    base: datetime = field(
        default_factory=lambda: datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    )

    def batch(self, device_id: str, number: int) -> list[tuple[datetime, float]]:
        base = self.base
        readings = []
        for i in range(self.per_batch):
            n = number * self.per_batch + i
            readings.append((base - timedelta(seconds=n), float(n % 150 - 40) + 0.5))
        return readings

    def body(self, device_id: str, number: int) -> dict[str, Any]:
        return {
            "readings": [
                {
                    "sensor_type": "temperature",
                    "value": value,
                    "timestamp": ts.isoformat().replace("+00:00", "Z"),
                }
                for ts, value in self.batch(device_id, number)
            ]
        }

    async def run(self, clients: Sequence[httpx.AsyncClient], deadline: float) -> None:
        async def device(device_id: str) -> None:
            for number in range(self.batches):
                readings = self.batch(device_id, number)
                body = self.body(device_id, number)
                for ts, value in readings:
                    self.sent[(device_id, ts)] = value
                headers = {"Authorization": f"Bearer {self.keys[device_id]}"}
                response = await deliver(
                    clients,
                    lambda c, b=body, h=headers: c.post("/v1/telemetry", json=b, headers=h),  # type: ignore[misc]
                    self.journal,
                    deadline=deadline,
                )
                if response is None or response.status_code != 202:
                    self.unconfirmed_batches += 1
                else:
                    answer = response.json()
                    assert (answer["accepted"], answer["rejected"]) == (self.per_batch, 0), answer
                    self.duplicates += answer["duplicates"]
                    for ts, value in readings:
                        self.confirmed[(device_id, ts)] = value
                await asyncio.sleep(self.pace)

        await asyncio.gather(*(device(d) for d in self.keys))

    async def verify(self, database_url: str) -> int:
        """Every reading answered 202 is stored exactly once with its value, and nothing is
        stored that was not sent; the number of readings lost (0)."""
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT device_id::text AS device, ts, value FROM readings "
                "WHERE device_id = ANY($1::uuid[])",
                list(self.keys),
            )
        finally:
            await conn.close()
        stored = Counter((r["device"], r["ts"]) for r in rows)
        values = {(r["device"], r["ts"]): r["value"] for r in rows}
        twice = [k for k, n in stored.items() if n > 1]
        assert twice == [], twice[:5]
        assert set(stored) <= set(self.sent), sorted(set(stored) - set(self.sent))[:5]
        lost = [k for k in self.confirmed if k not in stored]
        wrong = [k for k, v in self.confirmed.items() if k in values and values[k] != v]
        assert wrong == [], wrong[:5]
        return len(lost)
