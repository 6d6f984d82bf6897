"""`climasense --url … --token …`: every operator command through the operator API, run as a
real process with no database variables or server secret in its environment."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.support.factories import admin_token
from tests.support.processes import base_env, run_cli
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
