"""The deployment's commands as real processes: compose.yaml's migrate / api / worker commands
against local PostgreSQL, Redis and an S3 server, and a real Prometheus (Debian's binary, on
loopback) scraping `climasense serve --workers 2`."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.deploy.support import compose
from tests.support import postgres
from tests.support.processes import base_env, climasense_argv, run_cli, serve_process, stop_process
from tests.support.s3 import create_bucket, moto_s3
from tests.support.server import free_port

pytestmark = [pytest.mark.slow, pytest.mark.redis, pytest.mark.s3]

_SECRETS = {
    "POSTGRES_PASSWORD": "unused",
    "CLIMASENSE_SECRET_KEY": TEST_SECRET,
    "MINIO_ROOT_PASSWORD": "unused",
    "GRAFANA_ADMIN_PASSWORD": "unused",
}


def _readings(count: int, offset: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {
            "sensor_type": "pressure",
            "value": 1000.0,
            "timestamp": (now - timedelta(milliseconds=offset + i)).isoformat(),
        }
        for i in range(count)
    ]


def _replace_option(argv: list[str], option: str, value: str) -> list[str]:
    index = argv.index(option)
    return [*argv[: index + 1], value, *argv[index + 2 :]]


@contextmanager
def _process(argv: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with open(log, "wb") as output:
        process = subprocess.Popen(
            argv, env=env, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            yield process
        finally:
            stop_process(process)


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.poll() is None, f"{process.args} exited with {process.returncode}"
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(url)


def test_the_compose_commands_run_the_layout(
    pg_admin_url: str, redis_url: str, tmp_path: Path
) -> None:
    services = compose(_SECRETS)["services"]
    database = asyncio.run(postgres.create_database(pg_admin_url))  # empty: migrate builds it
    try:
        with moto_s3() as endpoint:
            blob_url = services["api-1"]["environment"]["CLIMASENSE_BLOB_URL"]
            asyncio.run(create_bucket(endpoint, blob_url.removeprefix("s3://").split("/")[0]))

            def env_of(name: str) -> dict[str, str]:
                # compose's environment, with the service hostnames mapped to local servers.
                env = base_env(**services[name]["environment"])
                env.update(
                    CLIMASENSE_DATABASE_URL=postgres.database_url(pg_admin_url, database),
                    CLIMASENSE_REDIS_URL=redis_url,
                    CLIMASENSE_S3_ENDPOINT_URL=endpoint,
                    AWS_ACCESS_KEY_ID="climasense-test",
                    AWS_SECRET_ACCESS_KEY="climasense-test-secret",
                    CLIMASENSE_DATA_DIR=str(tmp_path / name),
                )
                return env

            migrate = run_cli(*services["migrate"]["command"], env=env_of("migrate"))
            assert migrate.returncode == 0, migrate.stdout + migrate.stderr
            # The exact commands, but on loopback and free ports (this machine is shared).
            api_port, metrics_port = free_port(), free_port()
            api_argv = _replace_option(services["api-1"]["command"], "--host", "127.0.0.1")
            api_argv = _replace_option(api_argv, "--port", str(api_port))
            worker_argv = _replace_option(
                services["worker"]["command"], "--metrics-host", "127.0.0.1"
            )
            worker_argv = _replace_option(worker_argv, "--metrics-port", str(metrics_port))
            token = json.loads(
                run_cli(
                    "admin", "create-token", "--name", "ops", "--json", env=env_of("api-1")
                ).stdout
            )["token"]
            with (
                _process(climasense_argv(*api_argv), env_of("api-1"), tmp_path / "api.log") as api,
                _process(
                    climasense_argv(*worker_argv), env_of("worker"), tmp_path / "worker.log"
                ) as worker,
            ):
                api_url = f"http://127.0.0.1:{api_port}"
                worker_url = f"http://127.0.0.1:{metrics_port}"
                _wait_for(f"{api_url}/healthz", api)
                _wait_for(f"{worker_url}/healthz", worker)
                with httpx.Client(base_url=api_url, timeout=30) as client:
                    device = client.post(
                        "/admin/v1/devices",
                        json={"kind": "standalone", "model": "M", "batch": "b", "count": 1},
                        headers={"Authorization": f"Bearer {token}"},
                    ).json()["devices"][0]
                    sent = client.post(
                        "/v1/telemetry",
                        json={"readings": _readings(3, 0)},
                        headers={"Authorization": f"Bearer {device['api_key']}"},
                    )
                    assert sent.status_code == 202, sent.text
                    api_metrics = client.get("/metrics").text
                assert 'climasense_readings_total{outcome="accepted"} 3.0' in api_metrics
                worker_metrics = httpx.get(f"{worker_url}/metrics", timeout=10).text
                assert "climasense_alert_outbox_rows" in worker_metrics
                assert "climasense_alerts_open" in worker_metrics
            log = (tmp_path / "api.log").read_text() + (tmp_path / "worker.log").read_text()
            for line in filter(None, log.splitlines()):
                json.loads(line)  # CLIMASENSE_LOG_FORMAT=json, as compose sets it
            assert token not in log
            assert device["api_key"] not in log
    finally:
        asyncio.run(postgres.drop_database(pg_admin_url, database))


def test_a_real_prometheus_sees_the_readings_rate(database_url: str, tmp_path: Path) -> None:
    prometheus = shutil.which("prometheus")
    if prometheus is None:
        pytest.skip("prometheus missing (scripts/test installs Debian's prometheus package)")
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
        CLIMASENSE_LIMIT_TELEMETRY="100000",
        CLIMASENSE_METRICS_TOKEN="scrape-token-for-the-test",
    )
    token = json.loads(run_cli("admin", "create-token", "--name", "p", "--json", env=env).stdout)[
        "token"
    ]
    with serve_process(env, "--workers", "2", "--no-worker") as (url, _):
        (tmp_path / "token").write_text("scrape-token-for-the-test")
        config = tmp_path / "prometheus.yml"
        config.write_text(
            json.dumps(  # JSON is YAML
                {
                    "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
                    "scrape_configs": [
                        {
                            "job_name": "climasense-api",
                            "authorization": {"credentials_file": str(tmp_path / "token")},
                            "static_configs": [{"targets": [url.removeprefix("http://")]}],
                        }
                    ],
                }
            )
        )
        port = free_port()
        with _process(
            [
                prometheus,
                f"--config.file={config}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            base_env(),
            tmp_path / "prometheus.log",
        ) as server:
            api = f"http://127.0.0.1:{port}/api/v1"
            _wait_for(f"http://127.0.0.1:{port}/-/ready", server)
            with httpx.Client(base_url=url, timeout=30) as client:
                key = client.post(
                    "/admin/v1/devices",
                    json={"kind": "standalone", "model": "M", "batch": "b", "count": 1},
                    headers={"Authorization": f"Bearer {token}"},
                ).json()["devices"][0]["api_key"]
            sent, ended = _send_at_a_steady_pace(url, key, seconds=16, per_second=10, batch=5)
            time.sleep(2.5)  # a scrape after the last request

            def query(promql: str, at: float | None = None) -> float:
                params = {"query": promql, **({"time": str(at)} if at else {})}
                answer = httpx.get(f"{api}/query", params=params, timeout=10).json()
                assert answer["status"] == "success", answer
                result = answer["data"]["result"]
                return float(result[0]["value"][1]) if result else float("nan")

            # The rate over the last 10 s of steady sending: 10 requests x 5 readings a second.
            rate = query('sum(rate(climasense_readings_total{outcome="accepted"}[10s]))', ended - 1)
            assert abs(rate - 50) <= 50 * 0.25, rate
            assert query('sum(climasense_readings_total{outcome="accepted"})') == sent
            assert query('sum(up{job="climasense-api"})') == 1


def _send_at_a_steady_pace(
    url: str, key: str, *, seconds: int, per_second: int, batch: int
) -> tuple[int, float]:
    """POST `per_second` batches of `batch` readings a second for `seconds`, each on a new
    connection (so both processes answer); return the readings sent and the wall-clock end."""
    start = time.monotonic()
    headers = {"Authorization": f"Bearer {key}"}
    requests = 0
    while time.monotonic() - start < seconds:
        if (delay := start + requests / per_second - time.monotonic()) > 0:
            time.sleep(delay)
        with httpx.Client(base_url=url, timeout=30) as client:
            answer = client.post(
                "/v1/telemetry",
                json={"readings": _readings(batch, requests * batch)},
                headers=headers,
            )
        assert answer.status_code == 202, answer.text
        requests += 1
    return requests * batch, time.time()
