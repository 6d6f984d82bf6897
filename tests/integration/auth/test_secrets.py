"""Keys are shown once and stored only as keyed hashes: not in a database dump, not in logs."""

from __future__ import annotations

import logging
import shutil
import subprocess
from pathlib import Path

import pytest

from climasense.db.embedded import find_bindir
from tests.conftest import TEST_SECRET
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


def pg_dump_path() -> str:
    candidate = find_bindir() / "pg_dump"
    return str(candidate) if candidate.exists() else (shutil.which("pg_dump") or "pg_dump")


async def test_no_key_or_secret_in_a_database_dump_or_the_logs(
    server: LiveServer,
    token: str,
    database_url: str,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    devices = await provision(server.client, token, kind="hub", count=3)
    sensors = await provision(server.client, token, kind="zigbee_sensor", count=2)
    for device in devices:
        assert (
            await server.client.get("/v1/settings", headers=bearer(device["api_key"]))
        ).status_code == 200
    rotated = await server.client.post(
        f"/admin/v1/devices/{devices[0]['device_id']}/rotate-key", headers=bearer(token)
    )
    new_key = rotated.json()["api_key"]
    secrets_to_find = [token, new_key, TEST_SECRET] + [d["api_key"] for d in devices + sensors]

    dump = subprocess.run(
        [pg_dump_path(), "--data-only", database_url],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    assert "CS-HB-" in dump  # the dump does hold the devices...
    logs = caplog.text
    for secret in secrets_to_find:
        assert secret not in dump  # ...but never a key or the server secret
        assert secret not in logs
        # nor the secret part alone (without the prefix)
        assert secret[4:] not in dump


async def test_rotated_key_replaces_the_old_one(server: LiveServer, token: str) -> None:
    [device] = await provision(server.client, token)
    old = bearer(device["api_key"])
    assert (await server.client.get("/v1/settings", headers=old)).status_code == 200
    rotated = await server.client.post(
        f"/admin/v1/devices/{device['device_id']}/rotate-key", headers=bearer(token)
    )
    assert rotated.status_code == 200
    new = bearer(rotated.json()["api_key"])
    assert (await server.client.get("/v1/settings", headers=new)).status_code == 200
    # The revocation feed is polled each second; within 5 s the old key is refused.
    import asyncio

    for _ in range(60):
        if (await server.client.get("/v1/settings", headers=old)).status_code == 401:
            break
        await asyncio.sleep(0.1)
    assert (await server.client.get("/v1/settings", headers=old)).status_code == 401
