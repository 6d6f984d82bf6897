"""The README's run command path: `climasense serve` with no database URL."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import httpx
import pytest

from tests.support.processes import (
    base_env,
    climasense_argv,
    run_cli,
    serve_process,
    stop_process,
    wait_healthy,
)
from tests.support.server import free_port

pytestmark = pytest.mark.slow


def test_embedded_server_starts_keeps_data_and_refuses_a_second_serve(tmp_path: Path) -> None:
    env = base_env(CLIMASENSE_DATA_DIR=str(tmp_path / "data"))
    with serve_process(env, log_path=tmp_path / "serve1.log") as (url, _process):
        assert httpx.get(f"{url}/healthz").json() == {"status": "ok"}
        provisioned = run_cli(
            "devices",
            "provision",
            "--kind",
            "hub",
            "--model",
            "CS-HUB",
            "--batch",
            "b1",
            "--count",
            "2",
            "--json",
            env=env,
        )
        assert provisioned.returncode == 0, provisioned.stderr
        devices = json.loads(provisioned.stdout)["devices"]
        assert len(devices) == 2
        token = run_cli("admin", "create-token", "--name", "t", "--json", env=env)
        assert token.returncode == 0, token.stderr
        admin = json.loads(token.stdout)["token"]

        second = subprocess.run(
            climasense_argv("serve", "--port", "1"),
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert second.returncode == 2
        assert "already running" in second.stderr

    # Stopped cleanly with the server: no postmaster left behind.
    assert not (tmp_path / "data" / "pg" / "postmaster.pid").exists()

    with serve_process(env, log_path=tmp_path / "serve2.log") as (url, _process):
        listed = httpx.get(
            f"{url}/admin/v1/devices", headers={"Authorization": f"Bearer {admin}"}
        ).json()
        assert {d["device_id"] for d in listed["devices"]} == {d["device_id"] for d in devices}
        response = httpx.get(
            f"{url}/v1/settings", headers={"Authorization": f"Bearer {devices[0]['api_key']}"}
        )
        assert response.status_code == 200


def test_unreachable_database_is_a_clear_message_not_a_traceback(tmp_path: Path) -> None:
    env = base_env(
        CLIMASENSE_DATABASE_URL="postgresql://nobody@127.0.0.1:1/nothing",
        CLIMASENSE_SECRET_KEY="x" * 48,
        CLIMASENSE_DATA_DIR=str(tmp_path),
    )
    result = run_cli("serve", "--port", "1", env=env, timeout=60)
    assert result.returncode == 2
    assert "cannot reach the database" in result.stderr
    assert "Traceback" not in result.stderr


def test_placeholder_secret_is_refused(tmp_path: Path) -> None:
    env = base_env(CLIMASENSE_SECRET_KEY="changeme", CLIMASENSE_DATA_DIR=str(tmp_path))
    result = run_cli("migrate", env=env, timeout=60)
    assert result.returncode == 2
    assert "CLIMASENSE_SECRET_KEY" in result.stderr
    assert "Traceback" not in result.stderr


def test_healthz_within_90_seconds_of_a_fresh_data_dir(tmp_path: Path) -> None:
    env = base_env(CLIMASENSE_DATA_DIR=str(tmp_path / "fresh"))
    port = free_port()
    process = subprocess.Popen(
        climasense_argv("serve", "--port", str(port)),
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_healthy(f"http://127.0.0.1:{port}", 90, process) < 90
    finally:
        assert stop_process(process) == 0
