"""Server memory while many devices download one large firmware image at once.

Starts a real `climasense serve` process (one uvicorn worker) on a private database, for each
firmware store in turn (the local folder, and S3 served by a separate `moto_server` process),
uploads a firmware image over HTTP, then lets N devices download it concurrently and samples
the server's resident set size (RSS, from /proc) every 20 ms. Every download is checked
against the image's sha256. Prints the growth over the idle baseline; the target is < 100 MB.

Default settings: the contract allows a device 5 downloads an hour, and here each device
downloads the image once (one more device makes the warm-up request), as a fleet updating
does; an answer other than 200 (a 429 included) fails the run.

    .venv/bin/python -m bench.ota_memory [--size-mb 200] [--devices 20] [--stores local,s3]

Needs PostgreSQL (CLIMASENSE_TEST_PG_URL or 127.0.0.1:5432) and the dev extra (moto[server]).
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

# Run as a file (`python bench/x.py`): make `bench.common` importable.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench.common import default_env, free_port

PG_URL = os.environ.get("CLIMASENSE_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
BIN = Path(sys.executable).parent
SECRET = secrets.token_urlsafe(48)
BLOCK = os.urandom(1024 * 1024)  # the image: this block repeated with a counter


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmRSS")


def image_chunks(size_mb: int) -> list[bytes]:
    # Distinct 1 MiB chunks (so a wrong offset shows up in the checksum) without holding
    # 200 MB in this process either: each chunk is the block with its index stamped in front.
    return [i.to_bytes(8, "big") + BLOCK[8:] for i in range(size_mb)]


def image_sha256(size_mb: int) -> str:
    digest = hashlib.sha256()
    for i in range(size_mb):
        digest.update(i.to_bytes(8, "big") + BLOCK[8:])
    return digest.hexdigest()


async def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            try:
                await client.get(url, timeout=2)
                return
            except httpx.TransportError:
                await asyncio.sleep(0.2)
    raise RuntimeError(f"{url} did not come up")


@dataclass
class Sampler:
    pid: int
    peak: int = 0
    running: bool = True

    async def run(self) -> None:
        while self.running:
            self.peak = max(self.peak, rss_bytes(self.pid))
            await asyncio.sleep(0.02)


async def run_store(store: str, size_mb: int, devices: int, work: Path) -> dict[str, object]:
    procs: list[subprocess.Popen[bytes]] = []
    db_name = f"cs_bench_ota_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(PG_URL)
    await admin.execute(f"CREATE DATABASE {db_name}")
    await admin.close()
    database_url = PG_URL.rsplit("/", 1)[0] + "/" + db_name
    env = {
        **default_env(),
        "CLIMASENSE_DATABASE_URL": database_url,
        "CLIMASENSE_SECRET_KEY": SECRET,
        "CLIMASENSE_DATA_DIR": str(work / store),
        "CLIMASENSE_LOG_LEVEL": "warning",
    }
    try:
        if store == "s3":
            moto_port = free_port()
            procs.append(
                subprocess.Popen(
                    [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(moto_port)],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            )
            endpoint = f"http://127.0.0.1:{moto_port}"
            await wait_http(endpoint)
            env.update(
                AWS_ACCESS_KEY_ID="bench",
                AWS_SECRET_ACCESS_KEY="bench-secret",
                AWS_DEFAULT_REGION="us-east-1",
                CLIMASENSE_S3_ENDPOINT_URL=endpoint,
                CLIMASENSE_BLOB_URL="s3://bench-firmware/images",
            )
            async with httpx.AsyncClient() as client:  # moto accepts unsigned bucket creation
                await client.put(f"{endpoint}/bench-firmware")
        else:
            env["CLIMASENSE_BLOB_URL"] = (work / store / "firmware").as_uri()
        token = json.loads(
            subprocess.run(
                [str(BIN / "climasense"), "admin", "create-token", "--name", "bench", "--json"],
                env=env,
                check=True,
                capture_output=True,
            ).stdout
        )["token"]
        port = free_port()
        server = subprocess.Popen(
            [str(BIN / "climasense"), "serve", "--port", str(port), "--no-worker"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        procs.append(server)
        base = f"http://127.0.0.1:{port}"
        await wait_http(base + "/healthz")
        admin_headers = {"Authorization": f"Bearer {token}"}
        timeout = httpx.Timeout(600, connect=10)
        async with httpx.AsyncClient(base_url=base, timeout=timeout) as client:
            provisioned = await client.post(
                "/admin/v1/devices",
                json={"kind": "standalone", "model": "BENCH", "batch": "b", "count": devices + 1},
                headers=admin_headers,
            )
            provisioned.raise_for_status()
            warm_key, *keys = [d["api_key"] for d in provisioned.json()["devices"]]

            before_upload = rss_bytes(server.pid)
            upload_sampler = Sampler(server.pid)
            sampling = asyncio.create_task(upload_sampler.run())

            async def body() -> AsyncIterator[bytes]:
                for chunk in image_chunks(size_mb):
                    yield chunk

            started = time.monotonic()
            uploaded = await client.put(
                "/admin/v1/firmware/BENCH/1.0.0",
                content=body(),
                headers={**admin_headers, "Content-Type": "application/octet-stream"},
            )
            upload_seconds = time.monotonic() - started
            upload_sampler.running = False
            await sampling
            assert uploaded.status_code == 201, uploaded.text
            expected = image_sha256(size_mb)
            assert uploaded.json()["checksum"] == f"sha256:{expected}"
            released = await client.post(
                "/admin/v1/firmware/BENCH/1.0.0/releases",
                json={"batches": ["b"]},
                headers=admin_headers,
            )
            assert released.status_code == 201, released.text
            # Warm up the download path (imports, buffers) before the baseline.
            warm = await client.get(
                "/v1/ota/download/1.0.0",
                headers={"Authorization": f"Bearer {warm_key}", "Range": "bytes=0-1048575"},
            )
            assert warm.status_code == 206
            await asyncio.sleep(0.5)
            baseline = rss_bytes(server.pid)

            async def download(key: str) -> str:
                digest = hashlib.sha256()
                async with client.stream(
                    "GET", "/v1/ota/download/1.0.0", headers={"Authorization": f"Bearer {key}"}
                ) as response:
                    if response.status_code != 200:
                        await response.aread()
                        raise RuntimeError(f"download: {response.status_code} {response.text}")
                    async for chunk in response.aiter_raw(1024 * 1024):
                        digest.update(chunk)
                return digest.hexdigest()

            sampler = Sampler(server.pid)
            sampling = asyncio.create_task(sampler.run())
            started = time.monotonic()
            digests = await asyncio.gather(*(download(k) for k in keys))
            elapsed = time.monotonic() - started
            sampler.running = False
            await sampling
        assert all(d == expected for d in digests), "a download did not match the checksum"
        total_mb = size_mb * devices
        return {
            "store": store,
            "image_mb": size_mb,
            "devices": devices,
            "baseline_rss_mb": round(baseline / 2**20, 1),
            "peak_rss_mb": round(sampler.peak / 2**20, 1),
            "growth_mb": round((sampler.peak - baseline) / 2**20, 1),
            "download_seconds": round(elapsed, 1),
            "throughput_mb_s": round(total_mb / elapsed, 1),
            "upload_growth_mb": round((upload_sampler.peak - before_upload) / 2**20, 1),
            "upload_seconds": round(upload_seconds, 1),
        }
    finally:
        for proc in reversed(procs):
            proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        admin = await asyncpg.connect(PG_URL)
        await admin.execute(f"DROP DATABASE IF EXISTS {db_name} WITH (FORCE)")
        await admin.close()


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=200)
    parser.add_argument("--devices", type=int, default=20)
    parser.add_argument("--stores", default="local,s3")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="climasense-bench-ota-"))
    results = []
    try:
        for store in args.stores.split(","):
            result = await run_store(store, args.size_mb, args.devices, work)
            results.append(result)
            verdict = "OK" if float(result["growth_mb"]) < 100 else "OVER 100 MB"  # type: ignore[arg-type]
            print(
                f"{store:5}: {args.devices} x {args.size_mb} MB in {result['download_seconds']} s "
                f"({result['throughput_mb_s']} MB/s); server RSS {result['baseline_rss_mb']} MB "
                f"-> peak {result['peak_rss_mb']} MB, growth {result['growth_mb']} MB "
                f"[{verdict}]; upload {result['upload_seconds']} s, "
                f"growth {result['upload_growth_mb']} MB; every download 200 (no 429)",
                flush=True,
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
