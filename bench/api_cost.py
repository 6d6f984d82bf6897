"""CPU of the API process per `POST /v1/telemetry` (x10), variants A/B at one fixed rate.

`BENCH_VARIANTS="before=/path/to/main/src,after=src" .venv/bin/python bench/api_cost.py`

Each variant is `climasense serve` exactly as users start it (defaults; only the database URL,
on the local PostgreSQL, and the secret are set; `serve` starts its worker as a child, whose
CPU is not counted) from its own source tree (`PYTHONPATH`, same interpreter and packages), on
its own fresh database with `BENCH_DEVICES` provisioned devices. All variants run at once and
are driven in turn, `BENCH_ROUNDS` rounds of A B … (interleaved: they share the machine's
load), each phase `BENCH_SECONDS` of wrk (bench/ingest.lua, -t2, `BENCH_CONNECTIONS`
connections each pausing `BENCH_DELAY_MS` between requests: a paced, moderate rate well below
saturation, so every variant does the same work per second). CPU per request is the API
process's user + system time from /proc over the phase ÷ the requests wrk completed. Prints
each phase and, per variant, the median and the range.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import admin_token, fresh_database, serve_process
from bench.ingest import ReadingClock, commits
from bench.serve_layout import Parties
from bench.simulator import provision

DEVICES = int(os.environ.get("BENCH_DEVICES", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "4"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
DELAY_MS = int(os.environ.get("BENCH_DELAY_MS", "20"))
PROFILE_DIR = os.environ.get("BENCH_PROFILE_DIR", "")  # py-spy raw stacks, one extra phase


def variants() -> list[tuple[str, str]]:
    spec = os.environ.get("BENCH_VARIANTS", "ours=src")
    out = []
    for item in spec.split(","):
        name, src = item.split("=", 1)
        out.append((name, str(Path(src).resolve())))
    return out


def main() -> None:
    chosen = variants()
    workdir = Path(tempfile.mkdtemp(prefix="climasense-apicost-"))
    results: dict[str, list[dict[str, Any]]] = {name: [] for name, _ in chosen}
    with ExitStack() as stack:
        servers = []
        for name, src in chosen:
            db_url = stack.enter_context(fresh_database())
            url, proc = stack.enter_context(serve_process(db_url, PYTHONPATH=src))
            time.sleep(2)  # the worker child up
            parties = Parties(proc.pid, None, db_url.rsplit("/", 1)[1])
            devices = provision(url, admin_token(db_url, PYTHONPATH=src), DEVICES)
            keys = workdir / f"keys-{name}.txt"
            keys.write_text("".join(f"{d['api_key']} {d['device_id']}\n" for d in devices))
            servers.append((name, url, parties, keys, db_url))
        clock = ReadingClock()
        print(
            f"{DEVICES} devices, wrk -t2 -c{CONNECTIONS}, {DELAY_MS} ms pause, "
            f"{SECONDS} s a phase, {ROUNDS} rounds, load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
        # Warm-up (every key cached, plans prepared), then the measured rounds; each phase
        # its own recent time range, so every reading is new and none is late.
        for phase in range(ROUNDS + 1):
            for name, url, parties, keys, db_url in servers:
                before = parties.now()
                transactions = asyncio.run(commits(db_url))
                run = clock.telemetry(
                    url, keys, connections=CONNECTIONS, seconds=SECONDS, DELAY_MS=DELAY_MS
                )
                after = parties.now()
                requests = max(1.0, run["rps"] * SECONDS)
                run["api_us"] = (after[0] - before[0]) * 1e6 / requests
                # The database's backends and the cluster's writers (shared by the variants).
                run["pg_us"] = (after[1] - before[1]) * 1e6 / requests
                # Transactions of the phase (group commits, plus the worker's and the
                # credential poller's) per request: how well the requests were grouped.
                run["per_commit"] = requests / max(1, asyncio.run(commits(db_url)) - transactions)
                label = "warm-up" if phase == 0 else f"round {phase}"
                print(
                    f"{label} {name}: {run['rps']:.0f} req/s, API {run['api_us']:.1f} µs/request, "
                    f"PostgreSQL {run['pg_us']:.0f} µs/request, "
                    f"p50 {run['p50_ms']:.1f} ms, {run['per_commit']:.1f} requests per transaction, "
                    f"non-2xx {run['failed']}",
                    flush=True,
                )
                if phase:
                    results[name].append(run)
        if PROFILE_DIR:
            spy = Path(sys.executable).with_name("py-spy")
            for name, url, parties, keys, _db in servers:
                out = Path(PROFILE_DIR) / f"{name}.txt"
                profiler = subprocess.Popen(
                    [
                        spy,
                        "record",
                        "-r",
                        "250",
                        "-d",
                        str(SECONDS),
                        "-f",
                        "raw",
                        "-o",
                        str(out),
                        "-p",
                        str(parties.serve_pid),
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                clock.telemetry(
                    url, keys, connections=CONNECTIONS, seconds=SECONDS, DELAY_MS=DELAY_MS
                )
                profiler.wait(60)
    shutil.rmtree(workdir, ignore_errors=True)
    print("\n| variant | API µs per request, median (min–max) | req/s |")
    print("|---|---|---|")
    for name, runs in results.items():
        cpu = [r["api_us"] for r in runs]
        rps = statistics.median(r["rps"] for r in runs)
        print(
            f"| {name} | {statistics.median(cpu):.1f} ({min(cpu):.1f}–{max(cpu):.1f}) | {rps:.0f} |"
        )


if __name__ == "__main__":
    main()
