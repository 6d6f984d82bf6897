"""One conformance suite for every RateLimiter implementation (memory and Redis), on a clock
the test controls (for Redis the script is handed the test's timestamps)."""

from __future__ import annotations

import math
import random
import secrets
from collections.abc import AsyncIterator

import pytest

from climasense.limits.base import RateLimiter
from climasense.limits.memory import MemoryRateLimiter
from climasense.limits.redis import RedisRateLimiter
from climasense.settings import RateLimit
from tests.unit.limits.clock import FakeClock


class Harness:
    def __init__(self, limiter: RateLimiter, clock: FakeClock) -> None:
        self.limiter = limiter
        self.clock = clock

    async def hit_at(self, at: float, key: str, rule: RateLimit) -> bool:
        self.clock.now = at
        return (await self.limiter.hit(key, rule)).allowed


@pytest.fixture(params=["memory", pytest.param("redis", marks=pytest.mark.redis)])
async def harness(request: pytest.FixtureRequest) -> AsyncIterator[Harness]:
    clock = FakeClock()
    limiter: RateLimiter
    if request.param == "memory":
        limiter = MemoryRateLimiter(clock)
    else:
        url = request.getfixturevalue("redis_url")
        limiter = RedisRateLimiter.from_url(
            url, prefix=f"test:{secrets.token_hex(6)}:", clock=clock
        )
    yield Harness(limiter, clock)
    await limiter.close()


T0 = FakeClock().now


async def test_accepts_up_to_the_limit_then_refuses(harness: Harness) -> None:
    rule = RateLimit(3, 10)
    decisions = []
    for _ in range(4):
        decisions.append(await harness.limiter.hit("dev", rule))
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[3].retry_after == 10
    assert decisions[3].reset_seconds == 10
    assert (decisions[3].limit, decisions[3].window_seconds) == (3, 10)


async def test_no_double_burst_at_a_fixed_window_edge(harness: Harness) -> None:
    rule = RateLimit(3, 10)
    for _ in range(3):
        assert await harness.hit_at(T0 + 9.5, "dev", rule)
    # A fixed window starting at T0 + 10 would accept three more here.
    for at in (T0 + 10.1, T0 + 15.0, T0 + 19.4):
        assert not await harness.hit_at(at, "dev", rule)
    assert await harness.hit_at(T0 + 19.5, "dev", rule)


@pytest.mark.parametrize(
    ("accepted_at", "refused_at"),
    [
        ([0.0, 0.0, 0.0], 0.0),  # whole-second wait, exactly on the edge
        ([0.0, 2.25, 7.5], 8.0),  # fractional: the oldest leaves at 10.0
        ([1.75, 1.8, 1.9], 3.3),  # wait 8.45 s -> 9 s
        ([0.0, 9.0, 9.9], 9.999),  # a few milliseconds to go -> 1 s
    ],
)
async def test_retry_after_is_honest(
    harness: Harness, accepted_at: list[float], refused_at: float
) -> None:
    rule = RateLimit(3, 10)
    for at in accepted_at:
        assert await harness.hit_at(T0 + at, "dev", rule)
    harness.clock.now = T0 + refused_at
    refused = await harness.limiter.hit("dev", rule)
    assert not refused.allowed
    expected = math.ceil(accepted_at[0] + 10 - refused_at)
    assert refused.retry_after == max(expected, 1)
    # One second earlier is still refused (and, refused, costs nothing) ...
    assert not await harness.hit_at(T0 + refused_at + refused.retry_after - 1, "dev", rule)
    # ... and exactly Retry-After seconds later is accepted.
    assert await harness.hit_at(T0 + refused_at + refused.retry_after, "dev", rule)


async def test_refused_requests_do_not_count(harness: Harness) -> None:
    rule = RateLimit(2, 10)
    assert await harness.hit_at(T0, "dev", rule)
    assert await harness.hit_at(T0 + 1, "dev", rule)
    for step in range(1, 90):
        assert not await harness.hit_at(T0 + 1 + step * 0.1, "dev", rule)
    assert await harness.hit_at(T0 + 10, "dev", rule)
    assert await harness.hit_at(T0 + 11, "dev", rule)


async def test_keys_are_independent(harness: Harness) -> None:
    rule = RateLimit(2, 60)
    for _ in range(2):
        assert await harness.hit_at(T0, "dev-a:telemetry", rule)
    assert not await harness.hit_at(T0, "dev-a:telemetry", rule)
    assert await harness.hit_at(T0, "dev-b:telemetry", rule)
    assert await harness.hit_at(T0, "dev-a:settings_get", rule)


async def test_refund_takes_back_the_latest_hit(harness: Harness) -> None:
    rule = RateLimit(2, 10)
    assert await harness.hit_at(T0, "addr", rule)
    assert await harness.hit_at(T0 + 5, "addr", rule)
    await harness.limiter.refund("addr", rule)
    decision = await harness.limiter.hit("addr", rule)
    assert decision.allowed
    assert decision.remaining == 0
    await harness.limiter.refund("never-seen", rule)  # nothing to give back: no error


async def test_matches_the_definition_on_random_traffic(harness: Harness) -> None:
    """At every moment: accepted iff fewer than `limit` accepted requests in (t - w, t];
    the headers and Retry-After follow from that same log."""
    rng = random.Random(20260329)
    rule = RateLimit(5, 10)
    accepted: list[float] = []
    at = T0
    for _ in range(250):
        at += rng.choice([0.0, 0.001, 0.25, 0.5, 1.0, 2.0, 3.7])
        harness.clock.now = at
        decision = await harness.limiter.hit("dev", rule)
        in_window = [t for t in accepted if t > at - rule.window_seconds]
        assert decision.allowed == (len(in_window) < rule.limit), at - T0
        if decision.allowed:
            accepted.append(at)
            in_window.append(at)
            assert decision.remaining == rule.limit - len(in_window)
            # Microsecond rounding inside the storages: allow for it in the oracle.
            reset = in_window[0] + rule.window_seconds - at
            assert decision.reset_seconds in {math.ceil(reset - 1e-6), math.ceil(reset + 1e-6)}
        else:
            wait = in_window[-rule.limit] + rule.window_seconds - at
            assert decision.retry_after in {math.ceil(wait - 1e-6), math.ceil(wait + 1e-6)}
            assert decision.reset_seconds == decision.retry_after
            assert decision.remaining == 0
    assert len(accepted) > 50  # the traffic exercised both outcomes
    assert len(accepted) < 250
