"""What only the in-process limiter does: keep memory bounded by evicting idle keys."""

from __future__ import annotations

from climasense.limits.memory import MemoryRateLimiter
from climasense.settings import RateLimit
from tests.unit.limits.clock import FakeClock


async def test_idle_keys_are_evicted_once_their_window_has_passed() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    minute, hour = RateLimit(10, 60), RateLimit(5, 3600)
    for device in range(1000):
        await limiter.hit(f"dev-{device}:telemetry", minute)
    await limiter.hit("dev-0:ota_download", hour)
    assert limiter.tracked_keys == 1001

    clock.advance(30)
    await limiter.hit("dev-0:telemetry", minute)  # still active
    clock.advance(31)
    await limiter.hit("dev-new:telemetry", minute)
    # Idle for over a minute: gone; the hour window keeps its own key.
    assert limiter.tracked_keys == 3

    clock.advance(3600)
    await limiter.hit("dev-new:ota_download", hour)
    await limiter.hit("dev-new:telemetry", minute)
    assert limiter.tracked_keys == 2


async def test_an_evicted_key_starts_afresh_only_after_its_window() -> None:
    clock = FakeClock()
    limiter = MemoryRateLimiter(clock)
    rule = RateLimit(1, 60)
    assert (await limiter.hit("dev", rule)).allowed
    clock.advance(59.9)
    for device in range(50):
        await limiter.hit(f"other-{device}", rule)
    assert not (await limiter.hit("dev", rule)).allowed
    clock.advance(0.1)
    assert (await limiter.hit("dev", rule)).allowed


async def test_the_number_of_keys_is_capped() -> None:
    limiter = MemoryRateLimiter(FakeClock(), max_keys=100)
    for device in range(250):
        await limiter.hit(f"dev-{device}", RateLimit(5, 60))
    assert limiter.tracked_keys == 100
