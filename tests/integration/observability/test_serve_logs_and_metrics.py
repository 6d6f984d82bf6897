"""A real `climasense serve --workers 2`: JSON logs, access entries, request ids, one /metrics
summing both processes, and no key or token in the log."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from tests.conftest import TEST_SECRET
from tests.support.processes import base_env, run_cli, serve_process

pytestmark = pytest.mark.slow


def _readings(count: int, offset: int = 0) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {
            "sensor_type": "humidity",
            "value": 50.0,
            "timestamp": (now - timedelta(seconds=offset + i)).isoformat(),
        }
        for i in range(count)
    ]


def _metric(text: str, line_start: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(line_start)
    )


def test_json_logs_request_ids_and_summed_metrics(database_url: str, tmp_path: Path) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
        CLIMASENSE_LOG_FORMAT="json",
        CLIMASENSE_LIMIT_TELEMETRY="100000",
    )
    created = run_cli("admin", "create-token", "--name", "logs", "--json", env=env)
    assert created.returncode == 0, created.stderr
    token = json.loads(created.stdout)["token"]
    log_path = tmp_path / "serve.log"
    with (
        serve_process(env, "--workers", "2", "--no-worker", log_path=log_path) as (url, _),
        httpx.Client(base_url=url, timeout=30) as client,
    ):
        auth = {"Authorization": f"Bearer {token}"}
        devices = client.post(
            "/admin/v1/devices",
            json={"kind": "standalone", "model": "M", "batch": "b", "count": 1},
            headers=auth,
        ).json()["devices"]
        key = devices[0]["api_key"]
        sent = 0
        # Many connections, so both processes answer some (each new client is a new
        # connection, spread by the kernel over the two listening processes).
        for round_ in range(40):
            with httpx.Client(base_url=url, timeout=30) as fresh:
                answer = fresh.post(
                    "/v1/telemetry",
                    json={"readings": _readings(5, round_ * 5)},
                    headers={"Authorization": f"Bearer {key}"},
                )
                assert answer.status_code == 202, answer.text
                sent += 5
        kept = client.get(
            "/v1/settings",
            headers={"Authorization": f"Bearer {key}", "X-Request-ID": "trace-abc.123"},
        )
        assert kept.headers["x-request-id"] == "trace-abc.123"
        generated = client.get("/healthz", headers={"X-Request-ID": "x" * 129})
        assert generated.headers["x-request-id"] != "x" * 129
        assert len(generated.headers["x-request-id"]) >= 16
        refused = client.get("/admin/v1/devices", headers={"Authorization": "Bearer wrong"})
        assert refused.status_code == 401
        assert "x-request-id" in refused.headers
        # Several scrapes (either process may answer): each sees the sum of both, once each
        # process has flushed its last second (observability/metrics.py `flush`).
        time.sleep(1.5)
        for _ in range(4):
            with httpx.Client(base_url=url, timeout=30) as fresh:
                text = fresh.get("/metrics").text
            assert _metric(text, 'climasense_readings_total{outcome="accepted"}') == sent
            assert (
                _metric(
                    text,
                    'climasense_http_requests_total{method="POST",route="/v1/telemetry",status="202"}',
                )
                == 40
            )
    log = log_path.read_text()
    assert key not in log
    assert token not in log
    assert "Bearer" not in log
    entries = [json.loads(line) for line in log.splitlines() if line.strip()]
    for entry in entries:
        assert {"ts", "level", "logger", "message"} <= set(entry), entry
        datetime.fromisoformat(entry["ts"])
    loggers = {entry["logger"] for entry in entries}
    assert "uvicorn.error" in loggers
    access = [entry for entry in entries if entry["logger"] == "climasense.access"]
    telemetry = [entry for entry in access if entry["route"] == "/v1/telemetry"]
    assert len(telemetry) == 40
    assert all(entry["device_id"] == devices[0]["device_id"] for entry in telemetry)
    assert all(entry["status"] == 202 and entry["method"] == "POST" for entry in telemetry)
    assert all(isinstance(entry["duration_ms"], float) for entry in telemetry)
    settings = [entry for entry in access if entry["route"] == "/v1/settings"]
    assert settings[0]["request_id"] == "trace-abc.123"
    operator = [
        entry
        for entry in access
        if entry["route"] == "/admin/v1/devices" and entry["status"] == 201
    ]
    assert operator
    assert "token_id" in operator[0]
    pids = {entry["pid"] for entry in telemetry}
    assert len(pids) == 2, "both processes answered telemetry"


def test_text_logs_are_the_default(database_url: str, tmp_path: Path) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL=database_url,
        CLIMASENSE_SECRET_KEY=TEST_SECRET,
        CLIMASENSE_DATA_DIR=str(tmp_path),
    )
    log_path = tmp_path / "serve.log"
    with serve_process(env, "--no-worker", log_path=log_path) as (url, _):
        httpx.get(f"{url}/healthz", timeout=10)
    text = log_path.read_text()
    assert "climasense.access: GET /healthz 200" in text
    assert not text.lstrip().startswith("{")
