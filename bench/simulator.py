"""Simulator benchmark: `python bench/simulator.py` (about 2 minutes; needs local PostgreSQL).

Starts `climasense serve` as the README runs it (default settings) on a fresh database,
provisions the devices once through the operator API, then runs `climasense simulate --keys`
against it for BENCH_SECONDS (15) per phase and prints, per phase, the requests/s the simulator
drove, its CPU (user + system, from its own rusage, start-up excluded) and CPU per request, and
what that makes one simulator core worth (1e6 / µs per request).

With BENCH_BASELINE_SRC (e.g. /work/main/src) the same phases also run the simulator from that
source tree, interleaved with this one (baseline, ours, baseline, ours, ...), so both are measured
under the same load on a shared machine.

Phases: `--devices 1500 --interval 5` (the fleet of the issue: ~300 telemetry posts/s plus
command polls every 5 s and firmware checks every 30 s, ~650 requests/s offered), then the same
fleet at `--interval 1.1 --command-poll 2.5` (~2,000 requests/s offered, just inside the default
per-device limits of 60 posts and 30 polls a minute: as fast as the server and the
simulator manage).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
import orjson

# Run as a file (`python bench/x.py`): make `bench.common` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import admin_token, fresh_database, server

ROOT = Path(__file__).resolve().parents[1]
SECONDS = float(os.environ.get("BENCH_SECONDS", "15"))
DEVICES = int(os.environ.get("BENCH_DEVICES", "1500"))
BASELINE_SRC = os.environ.get("BENCH_BASELINE_SRC", "")
PHASES: list[tuple[str, list[str]]] = [
    ("interval 5", ["--interval", "5"]),
    ("interval 1.1", ["--interval", "1.1", "--command-poll", "2.5"]),
]
TICK = os.sysconf("SC_CLK_TCK")


def proc_cpu(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def provision(url: str, token: str, count: int) -> list[dict[str, Any]]:
    devices: list[dict[str, Any]] = []
    with httpx.Client(base_url=url, timeout=300) as client:
        while len(devices) < count:
            chunk = min(1000, count - len(devices))
            response = client.post(
                "/admin/v1/devices",
                json={"kind": "standalone", "model": "CS-100", "batch": "bench", "count": chunk},
                headers={"Authorization": f"Bearer {token}"},
            )
            response.raise_for_status()
            devices += response.json()["devices"]
    return devices


def simulate(
    url: str, keys: Path, args: list[str], src: str | None, seconds: float = SECONDS
) -> dict[str, Any]:
    """One `climasense simulate` run; its summary plus req/s and CPU after start-up."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLIMASENSE_")}
    if src:
        env["PYTHONPATH"] = src
    command = [sys.executable, "-m", "climasense", "simulate", "--keys", str(keys)]
    command += ["--url", url, "--duration", str(seconds), "--json", *args]
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    assert process.stdout is not None
    started: list[float] = []

    def watch_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            if line.startswith("simulating") and not started:
                started.append(proc_cpu(process.pid))

    watcher = threading.Thread(target=watch_stderr, daemon=True)
    watcher.start()
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    watcher.join(5)
    if process.returncode != 0:
        raise RuntimeError(f"simulate exited with {process.returncode}")
    summary: dict[str, Any] = orjson.loads(out)
    cpu = usage.ru_utime + usage.ru_stime - (started[0] if started else 0.0)
    seconds = max(0.1, float(summary["seconds"]))
    requests = int(summary["requests"])
    summary["rps"] = requests / seconds
    summary["cpu_share"] = cpu / seconds
    summary["cpu_us"] = cpu * 1e6 / max(1, requests)
    return summary


def line(name: str, result: dict[str, Any]) -> str:
    capacity = 1e6 / result["cpu_us"] if result["cpu_us"] else 0.0
    return (
        f"  {name:<9} {result['rps']:7.0f} req/s ({result['telemetry_posts'] / result['seconds']:5.0f}"
        f" telemetry/s), simulator CPU {100 * result['cpu_share']:4.0f} % of a core, "
        f"{result['cpu_us']:5.0f} µs/request -> {capacity:6.0f} req/s per core; "
        f"429 {result['rate_limited']}, 503 {result['unavailable']}, errors {result['errors']}"
    )


def main() -> None:
    variants: list[tuple[str, str | None]] = [("ours", None)]
    if BASELINE_SRC:
        variants.insert(0, ("baseline", BASELINE_SRC))
    with fresh_database() as database_url, server(database_url) as url:
        token = admin_token(database_url)
        devices = provision(url, token, DEVICES)
        workdir = Path(tempfile.mkdtemp(prefix="climasense-sim-"))
        keys = workdir / "keys.json"
        keys.write_bytes(orjson.dumps({"devices": devices}))
        try:
            run_phases(url, keys, variants)
        finally:
            shutil.rmtree(workdir, ignore_errors=True)


def run_phases(url: str, keys: Path, variants: list[tuple[str, str | None]]) -> None:
    print(
        f"`climasense serve` (defaults) at {url}, {DEVICES} devices, {SECONDS:.0f} s a phase, "
        f"{os.cpu_count()} cores (shared with the server and PostgreSQL)",
        flush=True,
    )
    # Warm the server's key cache, so that no variant pays the cold start for the other.
    simulate(url, keys, ["--interval", "5"], None, 8)
    for phase, args in PHASES:
        print(f"--devices {DEVICES} {' '.join(args)} ({phase}):", flush=True)
        for name, src in variants:
            print(line(name, simulate(url, keys, args, src)), flush=True)


if __name__ == "__main__":
    main()
