"""`climasense commands …` and `climasense devices settings …` against a real database."""

from __future__ import annotations

import json
from typing import Any

import pytest
from click.testing import CliRunner

from climasense.cli import cli
from tests.conftest import TEST_SECRET


@pytest.fixture
def runner(database_url: str, tmp_path: object) -> CliRunner:
    return CliRunner(
        env={
            "CLIMASENSE_DATABASE_URL": database_url,
            "CLIMASENSE_SECRET_KEY": TEST_SECRET,
            "CLIMASENSE_DATA_DIR": str(tmp_path),
        }
    )


def invoke(runner: CliRunner, *args: str, code: int = 0) -> Any:
    result = runner.invoke(cli, list(args), catch_exceptions=False)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if "--json" in args and result.stdout else result


def provision(runner: CliRunner) -> dict[str, Any]:
    out = invoke(
        runner, "devices", "provision", "--kind", "standalone", "--model", "CLI-1",
        "--batch", "cli", "--json",
    )  # fmt: skip
    device: dict[str, Any] = out["devices"][0]
    return device


def test_settings_get_and_set(runner: CliRunner) -> None:
    device = provision(runner)
    before = invoke(runner, "devices", "settings", "get", "--device", device["device_id"], "--json")
    assert before["version"] == 1
    after = invoke(
        runner, "devices", "settings", "set", "--device", device["device_id"],
        "--interval", "120", "--sensors", "temperature,iaq", "--latitude", "10",
        "--longitude", "20", "--location-name", "Roof", "--if-match", "1", "--json",
    )  # fmt: skip
    assert after == {
        "reporting_interval_seconds": 120,
        "enabled_sensors": ["temperature", "iaq"],
        "location": {"latitude": 10.0, "longitude": 20.0, "name": "Roof"},
        "timezone": "UTC",
        "version": 2,
    }
    # Stale version: 412 body, exit 1, nothing changed.
    stale = invoke(
        runner, "devices", "settings", "set", "--device", device["device_id"],
        "--timezone", "Asia/Tokyo", "--if-match", "1", "--json", code=1,
    )  # fmt: skip
    assert stale["error"] == "precondition_failed"
    bad = invoke(
        runner, "devices", "settings", "set", "--device", device["device_id"],
        "--interval", "5", "--json", code=1,
    )  # fmt: skip
    assert bad["error"] == "validation_error"
    cleared = invoke(
        runner, "devices", "settings", "set", "--device", device["device_id"],
        "--clear-location", "--json",
    )  # fmt: skip
    assert cleared["location"] is None
    # Each operator change queued a config_update; the older unfetched one was superseded.
    listed = invoke(runner, "commands", "list", "--device", device["device_id"], "--json")
    assert [(c["type"], c["status"]) for c in listed["commands"]] == [
        ("config_update", "pending"),
        ("config_update", "cancelled"),
    ]
    assert listed["commands"][0]["payload"] == cleared


def test_commands_send(runner: CliRunner) -> None:
    device = provision(runner)
    sent = invoke(
        runner, "commands", "send", "--device", device["device_id"], "--type", "reboot",
        "--payload", '{"delay_seconds": 5}', "--ttl", "600", "--json",
    )  # fmt: skip
    assert (sent["type"], sent["status"], sent["payload"]) == (
        "reboot",
        "pending",
        {"delay_seconds": 5},
    )
    refused = invoke(
        runner, "commands", "send", "--device", device["device_id"], "--type", "factory_reset",
        "--confirm", "nope", "--json", code=1,
    )  # fmt: skip
    assert refused["error"] == "confirmation_required"
    reset = invoke(
        runner, "commands", "send", "--device", device["device_id"], "--type", "factory_reset",
        "--confirm", device["serial_number"], "--json",
    )  # fmt: skip
    assert reset["type"] == "factory_reset"
    cancelled = invoke(runner, "commands", "cancel", reset["command_id"], "--json")
    assert cancelled["status"] == "cancelled"
    listed = invoke(runner, "commands", "list", "--device", device["device_id"], "--json")
    assert [c["command_id"] for c in listed["commands"]] == [
        reset["command_id"],
        sent["command_id"],
    ]
    missing = invoke(
        runner, "commands", "send", "--device", "nope", "--type", "reboot", "--json", code=1
    )
    assert missing["error"] == "not_found"
