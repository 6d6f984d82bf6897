"""Ingest benchmark: `python bench/ingest.py` (about 2 minutes; needs local PostgreSQL).

Starts the real server (one uvicorn process, the default rate limits) on a fresh database of
the PostgreSQL at CLIMASENSE_BENCH_PG_URL (default 127.0.0.1:5432) with synchronous_commit=on,
provisions a fleet of BENCH_DEVICES (10,000) devices through the operator API, drives it with
wrk (bench/ingest.lua, each request the next device's key) on loopback, and prints, from this
one run:
  1. telemetry req/s (10 readings, new keys, auth + limits + durable commit) ÷ trivial req/s
  2. readings/s at 100 readings/request ÷ raw asyncpg COPY rows/s into the same table
  3. p99 latency at half of the maximum telemetry rate (paced wrk connections)
  4. telemetry req/s ÷ InfluxDB 1.6 /write req/s with the same readings
A first telemetry x10 phase ("cold", keys never used) is reported on its own and goes on until
every key has posted once, so the measured phases after it find the keys in the credential
cache, as a running fleet's are. The rate limits are the contract's defaults: the fleet is large
enough that no device goes over 60 telemetry posts a minute even at the maximum rate (each
request is the next device's, so with 10,000 devices that would take over 10,000 req/s
sustained for a minute); the run fails if any answer was 429.
wrk and influxdb (Debian packages) are installed with apt-get when missing.
"""

from __future__ import annotations

import asyncio
import math
import os
import resource
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import asyncpg
import httpx

# Run as a file (`python bench/x.py`): make `bench.common` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import default_env, free_port

ROOT = Path(__file__).resolve().parents[1]
LUA = ROOT / "bench" / "ingest.lua"
PG_URL = os.environ.get("CLIMASENSE_BENCH_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
# BENCH_WORKERS=2 runs uvicorn with that many API processes (figures summed over them);
# BENCH_QUICK=1 measures only the trivial endpoint and telemetry x10 (+ profile), for iterating.
WORKERS = int(os.environ.get("BENCH_WORKERS", "1"))
QUICK = os.environ.get("BENCH_QUICK", "") not in ("", "0")
HTTP = os.environ.get("BENCH_HTTP") or "climasense.http.protocol:CoalescingHttpToolsProtocol"
# BENCH_WORKER=separate (default): the API process(es) run with CLIMASENSE_RUN_WORKER=0 and one
# `climasense worker` process evaluates alerts (the scale-out layout); inprocess: `serve`'s
# default, the worker inside the (single) API process.
# none: no alert evaluation at all (the ingest path alone; the outbox just fills up).
WORKER_MODE = os.environ.get("BENCH_WORKER", "separate")
SEPARATE_WORKER = WORKER_MODE == "separate"
THREADS, CONNECTIONS = 2, 64
DEVICES = int(os.environ.get("BENCH_DEVICES", "10000"))


def ensure_packages() -> None:
    missing = [
        pkg for pkg, binary in (("wrk", "wrk"), ("influxdb", "influxd")) if not shutil.which(binary)
    ]
    if missing:
        print(f"installing {' '.join(missing)} (apt-get)", flush=True)
        sudo = [] if os.geteuid() == 0 else ["sudo"]
        subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", *missing], check=True)


def wrk(
    url: str, mode: str, *, connections: int = CONNECTIONS, seconds: int = SECONDS, **env: Any
) -> dict[str, Any]:
    environ = {
        **os.environ,
        "MODE": mode,
        "THREADS": str(THREADS),
        **{k: str(v) for k, v in env.items()},
    }
    out = subprocess.run(
        [
            "wrk",
            "-t",
            str(THREADS),
            "-c",
            str(connections),
            "-d",
            f"{seconds}s",
            "--timeout",
            "5s",
            "-s",
            str(LUA),
            url,
        ],
        capture_output=True,
        text=True,
        env=environ,
        timeout=seconds + 60,
        check=True,
    ).stdout
    line = next(x for x in out.splitlines() if x.startswith("RESULT"))
    requests, duration_us, p50, p99, failed = line.split()[1:]
    non2xx = next((x for x in out.splitlines() if "Non-2xx" in x), "")
    status = next((x for x in out.splitlines() if x.startswith("FAILED-STATUS")), "")
    non2xx = f"{non2xx.strip()} {status}".strip()
    limited = next((x for x in out.splitlines() if x.startswith("LIMITED")), "LIMITED 0")
    counters = next((x for x in out.splitlines() if x.startswith("COUNTERS")), "COUNTERS ")
    late = next((x for x in out.splitlines() if x.startswith("LATE")), "LATE 0")
    return {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "p50_ms": float(p50),
        "p99_ms": float(p99),
        "failed": int(failed),
        "non2xx": non2xx,
        "limited": int(limited.split()[1]),
        "late": int(late.split()[1]),
        "counters": [int(n) for n in counters.split(" ", 1)[1].split(",") if n],
    }


class ReadingClock:
    """Where each phase's readings start in time: a few minutes ago, as a live fleet's are.

    `ingest.lua` stamps a device's request in round r (its r-th post of the phase) with
    T0 + r * ceil(READINGS / 7) seconds, so a phase uses [T0, T0 + rounds * span); the next one
    starts after it, and no reading of one phase repeats one of another. Recent readings on
    purpose: readings days old are *late* for the plain-PostgreSQL rollup once its job has moved
    the threshold to the current hour (ingest records their hours in `rollup_invalidations`,
    the job recomputes them), which is a backfill's cost, not a live fleet's (round 8 in
    docs/performance.md). A phase never starts before the current hour, for the same reason;
    the phases consume reading time slower than the clock moves (~100 s of readings in a
    ~4-minute layout), so none lands in the future.
    """

    def __init__(self, lead_seconds: int = 180) -> None:
        self.cursor = int(time.time()) - lead_seconds

    def start(self) -> int:
        now = int(time.time())
        self.cursor = max(self.cursor, now - now % 3600)
        if self.cursor > now + 60:  # the server accepts 300 s of clock skew; a fleet has less
            raise SystemExit(f"the phases' readings ran {self.cursor - now} s ahead of the clock")
        return self.cursor

    def advance(self, counters: list[int], devices: int, readings: int) -> None:
        """After a phase that started at `start()`: skip the time it used, from wrk's per-thread
        request `counters` over a keys file of `devices` lines."""
        slices = [len(range(tid, devices, THREADS)) for tid in range(THREADS)]
        rounds = max(math.ceil(done / size) for done, size in zip(counters, slices, strict=True))
        self.cursor += rounds * math.ceil(readings / 7) + 1

    def telemetry(
        self, url: str, keys_file: Path, readings: int = 10, **options: Any
    ) -> dict[str, Any]:
        """One wrk telemetry phase (`options` as `wrk` takes them) with the next time range;
        wrk's answer, with the phase's start as "t0" (to replay its readings elsewhere)."""
        t0 = self.start()
        result = wrk(url, "telemetry", READINGS=readings, T0=t0, KEYS_FILE=keys_file, **options)
        devices = len(keys_file.read_text().splitlines())
        self.advance(result["counters"], devices, readings)
        return {**result, "t0": t0}


def cold_start(base: str, keys_file: Path, devices: int, clock: ReadingClock) -> dict[str, Any]:
    """Telemetry x10 from keys never used before: the first SECONDS are measured ("cold"), then
    wrk runs on, each thread continuing its rotation, until every key has posted once (so it
    is in the credential cache, of the one API process that served it, for the phases after)."""
    t0 = clock.start()
    cold = wrk(base, "telemetry", READINGS=10, T0=t0, KEYS_FILE=keys_file)
    slices = [len(range(tid, devices, THREADS)) for tid in range(THREADS)]
    counters: list[int] = cold["counters"]
    warm = {"requests": 0, "limited": 0, "failed": 0}
    rps = cold["rps"]
    while any(done < size for done, size in zip(counters, slices, strict=True)):
        left = max(size - done for done, size in zip(counters, slices, strict=True))
        seconds = min(SECONDS, math.ceil(left / max(1.0, rps / THREADS)) + 1)
        run = wrk(
            base,
            "telemetry",
            seconds=seconds,
            READINGS=10,
            T0=t0,
            KEYS_FILE=keys_file,
            OFFSETS=",".join(map(str, counters)),
        )
        counters, rps = run["counters"], run["rps"]
        warm["requests"] += round(run["rps"] * seconds)
        warm["limited"] += run["limited"]
        warm["failed"] += run["failed"]
    cold["warm_up"] = warm
    clock.advance(counters, devices, 10)
    return cold


def provision(base: str, token: str, count: int) -> list[dict[str, Any]]:
    """`count` standalone devices through the operator API, 1,000 a request."""
    devices: list[dict[str, Any]] = []
    with httpx.Client(base_url=base, timeout=300) as client:
        while len(devices) < count:
            response = client.post(
                "/admin/v1/devices",
                json={
                    "kind": "standalone",
                    "model": "CS-100",
                    "batch": "bench",
                    "count": min(1000, count - len(devices)),
                },
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            devices += response.json()["devices"]
    return devices


def check_not_limited(phases: dict[str, dict[str, Any]]) -> None:
    """Print the 429 answers of each wrk phase; fail the run if there was any: on the default
    limits a bench must drive a fleet large enough that no device goes over its limit."""
    limited = {name: int(result["limited"]) for name, result in phases.items()}
    if "cold" in phases:
        limited["cold warm-up"] = phases["cold"]["warm_up"]["limited"]
    print("429 answers: " + ", ".join(f"{name} {n}" for name, n in limited.items()), flush=True)
    if any(limited.values()):
        raise SystemExit("429 answers: a device went over its default limit (a larger fleet?)")


async def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args[0]} exited with {proc.returncode}")
            try:
                if (await client.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


def start_influx(workdir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port, bind = free_port(), free_port()
    config = workdir / "influxdb.conf"
    config.write_text(
        f"""reporting-disabled = true
bind-address = "127.0.0.1:{bind}"
[meta]
  dir = "{workdir}/meta"
[data]
  dir = "{workdir}/data"
  wal-dir = "{workdir}/wal"
  query-log-enabled = false
[http]
  bind-address = "127.0.0.1:{port}"
  log-enabled = false
[monitor]
  store-enabled = false
[continuous_queries]
  enabled = false
"""
    )
    proc = subprocess.Popen(
        ["influxd", "-config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return proc, f"http://127.0.0.1:{port}"


async def copy_baseline(url: str, device_ids: list[UUID]) -> float:
    """Raw COPY rows/s into `readings` (new keys), batches of 5,000, for SECONDS."""
    conn = await asyncpg.connect(url)
    try:
        t0 = datetime.now(UTC) - timedelta(days=40)
        rows, second = 0, 0
        start = time.perf_counter()
        while time.perf_counter() - start < SECONDS:
            records = []
            for _ in range(5):
                ts = t0 - timedelta(seconds=second)
                second += 1
                records.extend((d, code, ts, 21.5, None) for d in device_ids for code in (1,))
            await conn.copy_records_to_table(
                "readings",
                records=records,
                columns=["device_id", "sensor_type", "ts", "value", "hub_id"],
            )
            rows += len(records)
        return rows / (time.perf_counter() - start)
    finally:
        await conn.close()


def profile_server(
    pid: int, base: str, keys_file: Path, clock: ReadingClock, runs: dict[str, dict[str, Any]]
) -> list[str]:
    """Where the server spends its CPU under x10 load: py-spy (if installed), self time. The
    x10 run's figures go into `runs` (as "profile")."""
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    if not Path(spy).exists():
        return []
    out = Path(tempfile.mkdtemp()) / "profile.txt"
    recorder = subprocess.Popen(
        [
            spy,
            "record",
            "-p",
            str(pid),
            "-d",
            str(SECONDS - 2),
            "-r",
            "200",
            "-f",
            "raw",
            "-o",
            str(out),
            "--nonblocking",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    runs["profile"] = clock.telemetry(base, keys_file)
    recorder.wait(30)
    if not out.exists():
        return []
    if os.environ.get("BENCH_PROFILE_RAW"):  # keep the raw stacks (e.g. for a flame graph)
        shutil.copy(out, os.environ["BENCH_PROFILE_RAW"])
    leaves: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        leaf = stack.rsplit(";", 1)[-1]
        leaves[leaf] = leaves.get(leaf, 0) + int(count)
        total += int(count)
    top = sorted(leaves.items(), key=lambda item: -item[1])[:15]
    return [f"{100 * n / total:5.1f}%  {leaf}" for leaf, n in top]


def server_cpu_seconds(pid: int) -> float:
    """User + system CPU of the server process and its children (uvicorn --workers)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        own_pid, ppid = int(stat.parent.name), int(fields[1])
        if own_pid == pid or ppid == pid:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def postgres_cpu_seconds() -> float:
    """User + system CPU of every running `postgres` process (the benchmark's cluster)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        name = text[text.find("(") + 1 : text.rfind(")")]
        if name == "postgres":
            fields = text.rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def children_cpu_seconds() -> float:
    """CPU of this script's finished children: around a `wrk` run, that run's own CPU."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# The process running the alert evaluator etc. when it is separate (BENCH_WORKER=separate).
WORKER_PID: list[int] = []


def _cpu_now(pid: int) -> tuple[float, float, float, float]:
    worker = server_cpu_seconds(WORKER_PID[0]) if WORKER_PID else 0.0
    return server_cpu_seconds(pid), postgres_cpu_seconds(), children_cpu_seconds(), worker


async def with_cpu(pid: int, run: Any, drain_url: str | None = None) -> dict[str, float]:
    """Run a wrk phase and add CPU time per request (µs) of the API server, PostgreSQL, wrk
    and the separate worker: steadier than req/s on a shared machine, and it shows where the
    two cores went. With `drain_url`, wait (up to 60 s) for the alert evaluator to empty the
    outbox after the phase and count that CPU too: work deferred is still work. The phase
    starts with no dirty pages (`os.sync()`): the kernel's writeback of an earlier phase's
    writes does not hold up its WAL fsyncs (docs/performance.md, round 10)."""
    os.sync()
    before = _cpu_now(pid)
    result: dict[str, float] = run()
    if drain_url is not None:
        result["drain_s"] = await drain_outbox(drain_url)
    after = _cpu_now(pid)
    requests = max(1.0, result["rps"] * SECONDS)
    for index, name in enumerate(("cpu_us", "pg_cpu_us", "wrk_cpu_us", "worker_cpu_us")):
        result[name] = (after[index] - before[index]) * 1e6 / requests
    return result


async def drain_outbox(url: str, limit: float = 60.0) -> float:
    """Seconds until the alert outbox is empty (every stored reading evaluated)."""
    conn = await asyncpg.connect(url)
    try:
        start = time.perf_counter()
        while time.perf_counter() - start < limit:
            if not await conn.fetchval("SELECT EXISTS (SELECT 1 FROM alert_outbox)"):
                break
            await asyncio.sleep(0.05)
        return time.perf_counter() - start
    finally:
        await conn.close()


async def commits(url: str) -> int:
    conn = await asyncpg.connect(url)
    try:
        return int(
            await conn.fetchval(
                "SELECT xact_commit FROM pg_stat_database WHERE datname = current_database()"
            )
        )
    finally:
        await conn.close()


async def main() -> None:
    ensure_packages()
    admin = await asyncpg.connect(PG_URL)
    name = f"cs_bench_{secrets.token_hex(4)}"
    await admin.execute(f"CREATE DATABASE {name}")
    await admin.execute(f"ALTER DATABASE {name} SET synchronous_commit = on")
    db_url = PG_URL.rsplit("/", 1)[0] + "/" + name
    workdir = Path(tempfile.mkdtemp(prefix="climasense-bench-"))
    port = free_port()
    secret = secrets.token_urlsafe(48)
    env = {
        **default_env(),
        "CLIMASENSE_DATABASE_URL": db_url,
        "CLIMASENSE_SECRET_KEY": secret,
        "CLIMASENSE_DATA_DIR": str(workdir),
        "CLIMASENSE_LOG_LEVEL": "warning",
    }
    if WORKER_MODE != "inprocess":
        env["CLIMASENSE_RUN_WORKER"] = "0"
    worker: subprocess.Popen[bytes] | None = None
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "climasense.api.app:app_from_env",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
            # As `climasense serve` runs it (BENCH_HTTP=httptools: uvicorn's own protocol).
            "--no-server-header",
            "--no-proxy-headers",
            "--http",
            HTTP,
            *(["--workers", str(WORKERS)] if WORKERS > 1 else []),
        ],
        env=env,
    )
    influx: subprocess.Popen[bytes] | None = None
    base = f"http://127.0.0.1:{port}"
    try:
        await wait_http(base + "/healthz", server)
        if SEPARATE_WORKER:  # after the server: it has migrated the database
            worker = subprocess.Popen([sys.executable, "-m", "climasense", "worker"], env=env)
            WORKER_PID.append(worker.pid)
        conn = await asyncpg.connect(db_url)
        sync = await conn.fetchval("SHOW synchronous_commit")
        await conn.close()
        from climasense.auth.keys import KeyHasher
        from climasense.db.pool import create_pool
        from climasense.tokens.service import create_admin_token

        pool = await create_pool(db_url, min_size=1, max_size=1)
        token = await create_admin_token(pool, KeyHasher(secret), "bench")
        await pool.close()
        started = time.perf_counter()
        devices = await asyncio.to_thread(provision, base, token, DEVICES)
        provisioned_s = time.perf_counter() - started
        keys_file = workdir / "keys.txt"
        keys_file.write_text("".join(f"{d['api_key']} {d['device_id']}\n" for d in devices))
        # Phases use successive time ranges of the last few minutes, as a live fleet's
        # readings are (see `ReadingClock`); COPY writes 40 days back.
        clock = ReadingClock()
        print(
            f"server pid {server.pid}, {DEVICES} devices (provisioned in "
            f"{provisioned_s:.1f} s), default rate limits, synchronous_commit={sync}, "
            f"{SECONDS} s per phase, wrk -t{THREADS} -c{CONNECTIONS}, {WORKERS} API process(es), "
            f"alert worker: {WORKER_MODE}",
            flush=True,
        )

        pid = server.pid
        trivial = await with_cpu(
            pid, lambda: wrk(base, "get", URL_PATH="/v1/nope", KEYS_FILE=keys_file)
        )
        print(
            f"trivial 404 {trivial['rps']:.0f} req/s, {trivial['cpu_us']:.0f} µs CPU/request",
            flush=True,
        )
        # A key's first request authenticates from the database, the next ones from the cache.
        cold = cold_start(base, keys_file, DEVICES, clock)
        print(
            f"telemetry x10 cold (keys never used): {cold['rps']:.0f} req/s, p99 "
            f"{cold['p99_ms']:.1f} ms, non-2xx {cold['failed']}; then the keys not used yet: "
            f"{cold['warm_up']}",
            flush=True,
        )
        if WORKER_MODE != "none":
            await drain_outbox(db_url)
        before = await commits(db_url)
        ten = await with_cpu(
            pid,
            lambda: clock.telemetry(base, keys_file),
            drain_url=db_url if WORKER_MODE != "none" else None,
        )
        per_commit = ten["rps"] * SECONDS * 10 / max(1, await commits(db_url) - before)
        print(f"telemetry x10: {ten}", flush=True)
        if QUICK:
            print(
                f"\n== quick: telemetry x10 {ten['rps']:.0f} req/s / trivial {trivial['rps']:.0f}"
                f" = {ten['rps'] / trivial['rps']:.2f}; server CPU per request "
                f"{ten['cpu_us']:.0f} µs vs {trivial['cpu_us']:.0f} µs; "
                f"{per_commit:.1f} readings per transaction"
            )
            runs: dict[str, dict[str, Any]] = {"cold": cold, "x10": ten}
            if WORKERS == 1 and os.environ.get("BENCH_PROFILE", "1") != "0":
                for line in profile_server(pid, base, keys_file, clock, runs):
                    print("  " + line)
            check_not_limited(runs)
            return
        health = wrk(base, "get", URL_PATH="/healthz", KEYS_FILE=keys_file)
        print(f"/healthz {health['rps']:.0f} req/s", flush=True)

        hundred = await with_cpu(
            pid,
            lambda: clock.telemetry(base, keys_file, 100),
            drain_url=db_url if WORKER_MODE != "none" else None,
        )
        print(f"telemetry x100: {hundred}", flush=True)

        copy_rps = await copy_baseline(db_url, [UUID(d["device_id"]) for d in devices])
        print(f"COPY {copy_rps:.0f} rows/s", flush=True)

        half = ten["rps"] / 2
        # 32: at ≥ 1 ms of delay each, 16 connections could not reach half of ~6,700 req/s.
        paced_connections = 32

        # Each paced connection sends, waits for the answer, then sleeps DELAY_MS: calibrate the
        # sleep with the latency seen at roughly that rate, then measure.
        def paced_run(delay_ms: int) -> dict[str, Any]:
            return clock.telemetry(
                base, keys_file, connections=paced_connections, DELAY_MS=delay_ms
            )

        probe = paced_run(max(1, round(paced_connections * 1000 / half)))
        delay_ms = max(1, round(paced_connections * 1000 / half - probe["p50_ms"]))
        paced = paced_run(delay_ms)
        print(f"paced (target {half:.0f} req/s, delay {delay_ms} ms): {paced}", flush=True)

        influx_dir = workdir / "influx"
        influx_dir.mkdir()
        influx, influx_url = start_influx(influx_dir)
        await wait_http(influx_url + "/ping", influx)
        async with httpx.AsyncClient() as client:
            (
                await client.post(influx_url + "/query", params={"q": "CREATE DATABASE bench"})
            ).raise_for_status()
        os.sync()  # as before each of ours (`with_cpu`)
        influx_cpu = server_cpu_seconds(influx.pid)
        influx_run = wrk(influx_url, "influx", READINGS=10, T0=ten["t0"], KEYS_FILE=keys_file)
        influx_run["cpu_us"] = (
            (server_cpu_seconds(influx.pid) - influx_cpu) * 1e6 / (influx_run["rps"] * SECONDS)
        )
        print(f"influx /write x10: {influx_run}", flush=True)

        runs = {"cold": cold, "x10": ten, "x100": hundred, "paced probe": probe, "paced": paced}
        profile = profile_server(server.pid, base, keys_file, clock, runs) if WORKERS == 1 else []

        print(
            f"\n== results (one run, {WORKERS} API process(es), shared 2-core machine: "
            "server, PostgreSQL and wrk share it)"
        )
        print(
            f"1. telemetry x10 {ten['rps']:.0f} req/s / trivial 404 {trivial['rps']:.0f} req/s "
            f"= {ten['rps'] / trivial['rps']:.2f}  (target >= 0.6; vs /healthz "
            f"{ten['rps'] / health['rps']:.2f}); {per_commit:.1f} readings per PostgreSQL "
            "transaction (all sessions: a floor for readings per group commit); server CPU "
            f"per request {ten['cpu_us']:.0f} µs vs {trivial['cpu_us']:.0f} µs"
        )
        print(
            f"2. x100 {hundred['rps'] * 100:.0f} readings/s / COPY {copy_rps:.0f} rows/s "
            f"= {hundred['rps'] * 100 / copy_rps:.2f}  (target >= 0.5)"
        )
        print(
            f"3. p99 at {paced['rps']:.0f} req/s (half of max {ten['rps']:.0f}): "
            f"{paced['p99_ms']:.1f} ms (p50 {paced['p50_ms']:.1f} ms; target <= 25 ms)"
        )
        print(
            f"4. telemetry x10 {ten['rps']:.0f} req/s / InfluxDB /write {influx_run['rps']:.0f} req/s "
            f"= {ten['rps'] / influx_run['rps']:.2f}  (target >= 1.0); CPU per request: "
            f"InfluxDB {influx_run['cpu_us']:.0f} µs, ours {ten['cpu_us']:.0f} µs API + "
            f"{ten['pg_cpu_us']:.0f} µs PostgreSQL + {ten['worker_cpu_us']:.0f} µs worker"
        )
        failures = ten["failed"] + hundred["failed"] + paced["failed"] + influx_run["failed"]
        print(f"non-success answers during load: {failures}")
        if profile:
            print("\nserver CPU by function (py-spy, self time, separate x10 run):")
            for line in profile:
                print("  " + line)
        check_not_limited(runs)
    finally:
        for proc in (server, worker, influx):
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
        await admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        await admin.close()
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    asyncio.run(main())
