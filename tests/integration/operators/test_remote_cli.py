"""`climasense --url … --token …`: every operator command through the operator API, run as a
real process with no database variables or server secret in its environment."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.support.factories import admin_token
from tests.support.processes import base_env, run_cli
from tests.support.readings import store_readings
from tests.support.server import LiveServer

# Real CLI processes (a few seconds each to start under load).
pytestmark = pytest.mark.slow


def remote_env(server: LiveServer, token: str) -> dict[str, str]:
    env = base_env(CLIMASENSE_URL=server.url, CLIMASENSE_TOKEN=token)
    for name in list(env):
        if name.startswith("PG") or name in {"DATABASE_URL"}:
            env.pop(name)
    assert not any(k.startswith("CLIMASENSE_") and k not in {
        "CLIMASENSE_URL", "CLIMASENSE_TOKEN"} for k in env)  # fmt: skip
    return env


class Remote:
    def __init__(self, server: LiveServer, token: str) -> None:
        self.env = remote_env(server, token)

    async def run(self, *args: str, code: int = 0) -> subprocess.CompletedProcess[str]:
        # The server runs in this event loop: the CLI process waits in a thread.
        result = await asyncio.to_thread(run_cli, *args, env=self.env, timeout=60)
        assert result.returncode == code, (args, result.stdout, result.stderr)
        return result

    async def json(self, *args: str, code: int = 0) -> Any:
        result = await self.run(*args, "--json", code=code)
        return json.loads(result.stdout)


@pytest.fixture
async def admin(server: LiveServer) -> Remote:
    return Remote(server, await admin_token(server.services, "cli-admin", "admin"))


async def test_remote_cli_covers_the_operator_commands(
    server: LiveServer, admin: Remote, tmp_path: Path
) -> None:
    me = await admin.json("whoami")
    assert me["role"] == "admin"
    assert me["name"] == "cli-admin"
    created = await admin.json(
        "devices", "provision", "--kind", "standalone", "--model", "RC-1", "--batch", "remote",
        "--count", "2",
    )  # fmt: skip
    device_id = created["devices"][0]["device_id"]
    listed = await admin.json("devices", "list", "--batch", "remote")
    assert {d["device_id"] for d in listed["devices"]} == {
        d["device_id"] for d in created["devices"]
    }
    shown = await admin.json("devices", "show", device_id)
    assert shown["device_id"] == device_id
    settings = await admin.json("devices", "settings", "set", "--device", device_id,
                                "--interval", "120")  # fmt: skip
    assert settings["reporting_interval_seconds"] == 120
    got = await admin.json("devices", "settings", "get", "--device", device_id)
    assert got["version"] == settings["version"]
    command = await admin.json("commands", "send", "--device", device_id, "--type", "reboot")
    history = await admin.json("commands", "list", "--device", device_id)
    assert command["command_id"] in {c["command_id"] for c in history["commands"]}
    cancelled = await admin.json("commands", "cancel", command["command_id"])
    assert cancelled["status"] == "cancelled"
    rotated = await admin.json("devices", "rotate-key", device_id)
    assert rotated["api_key"].startswith("csd_")

    image = tmp_path / "fw.bin"
    image.write_bytes(os.urandom(70_000))
    uploaded = await admin.json("firmware", "upload", "--model", "RC-1", "--version", "2.0.0",
                                "--file", str(image), "--notes", "remote")  # fmt: skip
    assert uploaded["size_bytes"] == 70_000
    release = await admin.json("firmware", "release", "--model", "RC-1", "--version", "2.0.0",
                               "--batches", "remote")  # fmt: skip
    release_id = release["release_id"]
    assert (await admin.json("firmware", "pause", release_id))["state"] == "paused"
    assert (await admin.json("firmware", "resume", release_id))["state"] == "active"
    assert (await admin.json("firmware", "cancel", release_id))["state"] == "cancelled"

    rule = await admin.json("alerts", "rules", "create", "--name", "hot", "--sensor-type",
                            "temperature", "--op", ">", "--threshold", "40", "--severity",
                            "warning")  # fmt: skip
    assert rule["rule_id"] in {
        r["rule_id"] for r in (await admin.json("alerts", "rules", "list"))["rules"]
    }
    await admin.json("alerts", "rules", "delete", rule["rule_id"])
    assert "alerts" in await admin.json("alerts", "list", "--state", "open")
    hook = await admin.json("webhooks", "create", "--url", "https://hooks.example/x",
                            "--secret", "0123456789abcdef")  # fmt: skip
    assert "secret" not in hook
    await admin.json("webhooks", "delete", hook["webhook_id"])

    viewer = await admin.json("tokens", "create", "--name", "ro", "--role", "viewer",
                              "--expires-in-days", "2")  # fmt: skip
    assert viewer["token"].startswith("csa_")
    tokens = await admin.json("tokens", "list")
    assert viewer["token"] not in json.dumps(tokens)
    await admin.json("devices", "revoke", device_id)

    audit = await admin.json("audit", "list", "--actor", me["token_id"], "--limit", "100")
    actions = {e["action"] for e in audit["entries"]}
    assert {
        "device.provision", "settings.update", "command.send", "command.cancel",
        "device.rotate_key", "firmware.upload", "release.create", "release.pause",
        "release.resume", "release.cancel", "rule.create", "rule.delete", "webhook.create",
        "webhook.delete", "token.create", "device.revoke",
    } <= actions  # fmt: skip
    plain = await admin.run("audit", "list", "--action", "device.revoke")
    assert "cli-admin (admin)\tdevice.revoke" in plain.stdout

    # A viewer is refused writes: the error body on stdout with --json, exit 1.
    reader = Remote(server, viewer["token"])
    refused = await reader.json("devices", "revoke", created["devices"][1]["device_id"], code=1)
    assert refused["error"] == "forbidden"
    plain_refusal = await reader.run("tokens", "list", code=1)
    assert "HTTP 403" in plain_refusal.stderr
    assert (await reader.json("devices", "list", "--batch", "remote"))["devices"]


async def test_remote_cli_refusals_and_unreachable_server(server: LiveServer) -> None:
    wrong = Remote(server, "csa_not-a-token")
    body = await wrong.json("devices", "list", code=1)
    assert body["error"] == "unauthorized"
    gone = Remote(server, "x")
    gone.env["CLIMASENSE_URL"] = "http://127.0.0.1:9"
    result = await gone.run("devices", "list", code=2)
    assert "cannot reach" in result.stderr
    no_url = Remote(server, "x")
    no_url.env.pop("CLIMASENSE_URL")
    usage = await no_url.run("tokens", "list", code=2)
    assert "--url" in usage.stderr


async def test_remote_cli_fleet_commands(server: LiveServer, tmp_path: Path) -> None:
    operator = await admin_token(server.services, "cli-fleet", "operator")
    op = Remote(server, operator)
    batch = "rf" + uuid.uuid4().hex[:8]
    created = await op.json("devices", "provision", "--kind", "standalone", "--model", "RC-2",
                            "--batch", batch, "--count", "3")  # fmt: skip
    ids = [d["device_id"] for d in created["devices"]]

    updated = await op.json("devices", "update", ids[0], "--tag", "sea", "--tag", "canary",
                            "--label", "Boat One")  # fmt: skip
    assert updated["tags"] == ["canary", "sea"]
    assert updated["label"] == "Boat One"
    plain = await op.run("devices", "update", ids[0], "--clear-label")
    assert plain.stdout.startswith(ids[0])
    bad = await op.json("devices", "update", ids[0], "--tag", "Bad Tag", code=1)
    assert bad["error"] == "validation_error"

    tagged = await op.json("devices", "tag", "--batch", batch, "--add", "north")
    assert tagged == {"matched": 3}
    retag = ("devices", "tag", "--batch", batch, "--tag-all", "canary", "--remove", "sea")
    assert (await op.run(*retag)).stdout == ("matched 1\n")

    job = await op.json("jobs", "create", "--batch", batch, "--command", "reboot")
    assert job["target_count"] == 3
    shown = await op.json("jobs", "show", job["job_id"])
    assert shown["counts"]["queued"] == 3
    assert job["job_id"] in {j["job_id"] for j in (await op.json("jobs", "list"))["jobs"]}
    cancelled = await op.json("jobs", "cancel", job["job_id"])
    assert cancelled["state"] == "cancelled"
    settings_job = await op.json("jobs", "create", "--device", ids[1], "--settings",
                                 '{"reporting_interval_seconds": 900}')  # fmt: skip
    assert settings_job["kind"] == "settings"
    refused = await op.run("jobs", "create", "--batch", batch, "--settings",
                           '{"reporting_interval_seconds": -5}', code=1)  # fmt: skip
    assert "HTTP 422" in refused.stderr
    missing = await op.json("jobs", "show", str(uuid.uuid4()), code=1)
    assert missing["error"] == "not_found"

    base = datetime(2026, 1, 1, tzinfo=UTC)
    await store_readings(
        server.services.pool,
        ids[0],
        [("temperature", base + timedelta(seconds=i), 20.0 + i) for i in range(30)],
    )
    exported = await op.run("telemetry", "export", "--batch", batch, "--tag", "north")
    lines = exported.stdout.splitlines()
    assert lines[0] == "device_id,serial_number,sensor_id,sensor_type,timestamp,value"
    assert len(lines) == 31
    assert all(line.startswith(ids[0]) for line in lines[1:])
    out = tmp_path / "t.csv"
    await op.run("telemetry", "export", "--batch", batch, "--sensor-type", "temperature",
                 "--out", str(out))  # fmt: skip
    assert out.read_text().splitlines() == lines
    bad_time = await op.run("telemetry", "export", "--from", "yesterday", code=1)
    assert "HTTP 422" in bad_time.stderr

    audit = await Remote(server, await admin_token(server.services, "cli-aud", "admin")).json(
        "audit", "list", "--limit", "100"
    )
    mine = [e["action"] for e in audit["entries"] if e["actor"]["name"] == "cli-fleet"]
    assert sorted(set(mine)) == [
        "device.provision", "device.tag", "device.update", "job.cancel", "job.create",
    ]  # fmt: skip
    assert mine.count("device.update") == 2
    assert mine.count("job.create") == 2

    # A viewer reads but is refused fleet changes.
    viewer = Remote(server, await admin_token(server.services, "cli-fleet-ro", "viewer"))
    assert (await viewer.json("jobs", "show", job["job_id"]))["job_id"] == job["job_id"]
    forbidden = await viewer.json("devices", "tag", "--batch", batch, "--add", "x", code=1)
    assert forbidden["error"] == "forbidden"
