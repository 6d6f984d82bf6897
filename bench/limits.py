"""Per-request cost of rate limiting: the in-process limiter and the Redis one.

    .venv/bin/python -m bench.limits [--redis-url URL] [--keys 10000]

Without --redis-url a private `redis-server` is started on a free loopback port (so the
command counts are ours alone) and stopped afterwards. Prints µs per decision, Redis commands
and round trips per decision, and memory per tracked key, with the Redis/memory ratios.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import shutil
import socket
import subprocess
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager

from redis.asyncio import Redis

from climasense.limits.memory import MemoryRateLimiter
from climasense.limits.redis import RedisRateLimiter
from climasense.settings import RateLimit

TELEMETRY = RateLimit(60, 60)


@contextmanager
def private_redis() -> Iterator[str]:
    binary = shutil.which("redis-server")
    if binary is None:
        raise SystemExit("redis-server not found: install it or pass --redis-url")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("private redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=10)


def bench_memory(keys: int) -> dict[str, float]:
    limiter = MemoryRateLimiter()
    names = [f"device-{i}:telemetry" for i in range(keys)]
    decisions = keys * 20  # 20 per key: all accepted under 60/min
    started = time.perf_counter()
    for _ in range(20):
        for name in names:
            limiter.hit_sync(name, TELEMETRY)
    accepted_us = (time.perf_counter() - started) / decisions * 1e6

    tight = RateLimit(5, 60)
    for name in names[:1000]:
        for _ in range(5):
            limiter.hit_sync(name, tight)
    started = time.perf_counter()
    for _ in range(20):
        for name in names[:1000]:
            limiter.hit_sync(name, tight)
    refused_us = (time.perf_counter() - started) / 20_000 * 1e6

    def bytes_per_key(entries: int) -> float:
        tracemalloc.start()
        probe = MemoryRateLimiter()
        before = tracemalloc.get_traced_memory()[0]
        rule = RateLimit(entries, 60)
        for name in names:
            for _ in range(entries):
                probe.hit_sync(name, rule)
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / keys

    return {
        "accepted_us": accepted_us,
        "refused_us": refused_us,
        "bytes_per_key_1": bytes_per_key(1),
        "bytes_per_key_60": bytes_per_key(60),
    }


async def commandstats(client: Redis) -> tuple[int, int]:
    """(all commands, EVALSHA + LPOP calls = round trips from the limiter) so far."""
    stats = await client.info("commandstats")
    total = sum(int(v["calls"]) for v in stats.values())
    trips = sum(int(stats.get(f"cmdstat_{c}", {"calls": 0})["calls"]) for c in ("evalsha",))
    return total, trips


async def bench_redis(url: str, keys: int, concurrency: int) -> dict[str, float]:
    prefix = f"bench:{secrets.token_hex(4)}:"
    limiter = RedisRateLimiter.from_url(url, prefix=prefix)
    client = Redis.from_url(url)
    names = [f"device-{i}:telemetry" for i in range(keys)]
    try:
        await limiter.hit("warm-up", TELEMETRY)  # loads the script
        await client.config_resetstat()
        sequential = min(keys, 5000)
        started = time.perf_counter()
        for name in names[:sequential]:
            await limiter.hit(name, TELEMETRY)
        sequential_us = (time.perf_counter() - started) / sequential * 1e6
        total, trips = await commandstats(client)
        # INFO itself is one command of the total; CONFIG RESETSTAT is not counted.
        commands_per_decision = (total - 1) / sequential
        trips_per_decision = trips / sequential

        queue: asyncio.Queue[str] = asyncio.Queue()
        for _ in range(4):
            for name in names:
                queue.put_nowait(name)
        decisions = queue.qsize()

        async def worker() -> None:
            while not queue.empty():
                await limiter.hit(queue.get_nowait(), TELEMETRY)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        concurrent_us = (time.perf_counter() - started) / decisions * 1e6

        await client.config_resetstat()
        refused_key = "refused:telemetry"
        tight = RateLimit(5, 60)
        for _ in range(5):
            await limiter.hit(refused_key, tight)
        await client.config_resetstat()
        for _ in range(100):
            await limiter.hit(refused_key, tight)
        refused_total, _ = await commandstats(client)
        refused_commands = (refused_total - 1) / 100

        one = await client.memory_usage(prefix + names[0]) or 0  # 5 entries by now
        full_key = "full:telemetry"
        for _ in range(60):
            await limiter.hit(full_key, TELEMETRY)
        full = await client.memory_usage(prefix + full_key) or 0
        return {
            "sequential_us": sequential_us,
            "concurrent_us": concurrent_us,
            "commands_accepted": commands_per_decision,
            "commands_refused": refused_commands,
            "round_trips": trips_per_decision,
            "bytes_per_key_5": float(one),
            "bytes_per_key_60": float(full),
        }
    finally:
        cursor = 0
        while True:
            cursor, found = await client.scan(cursor, match=prefix + "*", count=1000)
            if found:
                await client.delete(*found)
            if cursor == 0:
                break
        await client.aclose()
        await limiter.close()


async def bench_limits_library(url: str, keys: int) -> dict[str, float]:
    """The `limits` library's MovingWindowRateLimiter on the same Redis, for the record:
    `hit` says only yes/no, so the headers need `get_window_stats`, a second round trip."""
    from limits import RateLimitItemPerMinute
    from limits.aio.storage import RedisStorage
    from limits.aio.strategies import MovingWindowRateLimiter

    prefix = f"bench-limits-{secrets.token_hex(4)}"
    storage = RedisStorage("async+" + url, implementation="redispy", key_prefix=prefix)
    limiter = MovingWindowRateLimiter(storage)
    item = RateLimitItemPerMinute(60)
    count = min(keys, 3000)
    try:
        await limiter.hit(item, "warm-up")
        await limiter.get_window_stats(item, "warm-up")
        started = time.perf_counter()
        for i in range(count):
            await limiter.hit(item, f"a{i}")
        hit_us = (time.perf_counter() - started) / count * 1e6
        started = time.perf_counter()
        for i in range(count):
            await limiter.hit(item, f"b{i}")
            await limiter.get_window_stats(item, f"b{i}")
        both_us = (time.perf_counter() - started) / count * 1e6
    finally:
        await storage.reset()
    return {"hit_us": hit_us, "hit_and_stats_us": both_us}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--redis-url")
    parser.add_argument("--keys", type=int, default=10_000)
    parser.add_argument("--concurrency", type=int, default=64)
    args = parser.parse_args()

    memory = bench_memory(args.keys)

    async def on_redis(url: str) -> tuple[dict[str, float], dict[str, float]]:
        ours = await bench_redis(url, args.keys, args.concurrency)
        return ours, await bench_limits_library(url, args.keys)

    if args.redis_url:
        redis, library = asyncio.run(on_redis(args.redis_url))
    else:
        with private_redis() as url:
            redis, library = asyncio.run(on_redis(url))

    print(f"keys: {args.keys}, rule telemetry 60/60 s")
    print("memory (in-process sliding log)")
    print(f"  accepted decision     {memory['accepted_us']:8.2f} µs")
    print(f"  refused decision      {memory['refused_us']:8.2f} µs")
    print(f"  per tracked key, 1 request in window   {memory['bytes_per_key_1']:8.0f} B")
    print(f"  per tracked key, 60 requests in window {memory['bytes_per_key_60']:8.0f} B")
    print("redis (Lua sliding log, EVALSHA)")
    print(f"  sequential decision   {redis['sequential_us']:8.2f} µs (one round trip)")
    print(f"  {args.concurrency} concurrent, per decision {redis['concurrent_us']:8.2f} µs")
    print(f"  round trips per decision          {redis['round_trips']:.2f}")
    print(f"  commands per accepted decision    {redis['commands_accepted']:.2f} (incl. EVALSHA)")
    print(f"  commands per refused decision     {redis['commands_refused']:.2f} (incl. EVALSHA)")
    print(f"  per tracked key, 5 requests       {redis['bytes_per_key_5']:8.0f} B (MEMORY USAGE)")
    print(f"  per tracked key, 60 requests      {redis['bytes_per_key_60']:8.0f} B (MEMORY USAGE)")
    print("limits library, MovingWindowRateLimiter on the same Redis (sequential)")
    print(f"  hit                   {library['hit_us']:8.2f} µs")
    print(f"  hit + get_window_stats {library['hit_and_stats_us']:7.2f} µs (what headers need)")
    print("ratios")
    print(
        f"  redis sequential / memory      {redis['sequential_us'] / memory['accepted_us']:6.1f}x"
    )
    print(
        f"  redis concurrent / memory      {redis['concurrent_us'] / memory['accepted_us']:6.1f}x"
    )
    ratio = library["hit_and_stats_us"] / redis["sequential_us"]
    print(f"  limits hit+stats / ours        {ratio:6.1f}x")


if __name__ == "__main__":
    main()
