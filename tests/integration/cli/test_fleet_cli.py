"""`climasense devices update|tag`, `jobs …` and `telemetry export` against a real database."""

from __future__ import annotations

import csv
import io
import json
import uuid
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


def test_update_tag_and_jobs(runner: CliRunner) -> None:
    batch = "u" + uuid.uuid4().hex[:10]
    out = invoke(
        runner, "devices", "provision", "--kind", "standalone", "--model", "CLI-1",
        "--batch", batch, "--count", "3", "--json",
    )  # fmt: skip
    devices = out["devices"]
    updated = invoke(
        runner, "devices", "update", devices[0]["device_id"], "--tag", "boat",
        "--label", "Sea Breeze", "--json",
    )  # fmt: skip
    assert updated["tags"] == ["boat"]
    assert updated["label"] == "Sea Breeze"
    refused = invoke(
        runner, "devices", "update", devices[0]["device_id"], "--tag", "Bad Tag", "--json", code=1
    )
    assert refused["error"] == "validation_error"
    tagged = invoke(runner, "devices", "tag", "--batch", batch, "--add", "fleet", "--json")
    assert tagged == {"matched": 3}
    empty = runner.invoke(cli, ["devices", "tag", "--add", "x", "--json"])
    assert empty.exit_code == 1
    assert json.loads(empty.stdout)["error"] == "validation_error"
    job = invoke(
        runner, "jobs", "create", "--batch", batch, "--tag-all", "boat", "--command", "reboot",
        "--json",
    )  # fmt: skip
    assert job["target_count"] == 1
    shown = invoke(runner, "jobs", "show", job["job_id"], "--json")
    assert shown["counts"]["queued"] == 1
    settings_job = invoke(
        runner, "jobs", "create", "--batch", batch, "--settings",
        '{"reporting_interval_seconds": 600}', "--json",
    )  # fmt: skip
    assert settings_job["kind"] == "settings"
    assert settings_job["target_count"] == 3
    listed = invoke(runner, "jobs", "list", "--limit", "2", "--json")
    assert [j["job_id"] for j in listed["jobs"]] == [settings_job["job_id"], job["job_id"]]
    cancelled = invoke(runner, "jobs", "cancel", job["job_id"], "--json")
    assert cancelled["state"] == "cancelled"
    assert cancelled["counts"]["cancelled"] == 1
    exported = invoke(runner, "telemetry", "export", "--batch", batch)
    table = list(csv.reader(io.StringIO(exported.stdout)))
    assert table == [
        ["device_id", "serial_number", "sensor_id", "sensor_type", "timestamp", "value"]
    ]
