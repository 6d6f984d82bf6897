"""Schemathesis against the operator API (`/admin/v1`) as the server documents it in
`/openapi.json` (climasense.openapi_operator): every operation, generated valid and invalid
input, with an operator token and ids of a real fleet in the path, deterministic and bounded.
Every status the server answers must be documented for the operation (`status_code_conformance`)
and every body must match its documented schema (`response_schema_conformance`); no 5xx.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest

from climasense.settings import RateLimit
from tests.conftest import make_settings
from tests.hardening.fleet import Fleet, build_fleet, unlimited
from tests.hardening.schemathesis_cli import run_schemathesis
from tests.support.factories import admin_token, bearer
from tests.support.server import LiveServer, live_server

pytestmark = pytest.mark.slow

MAX_EXAMPLES = 15  # per operation and phase: ~1,500 requests, ~40 s on a busy 2-core machine
CHECKS = "status_code_conformance,response_schema_conformance,not_a_server_error"


async def known_ids(server: LiveServer, token: str, fleet: Fleet) -> dict[str, str]:
    """Path parameters naming real resources, so requests reach more than the 404 branch."""
    admin = bearer(token)
    rule = await server.client.post(
        "/admin/v1/alert-rules",
        json={
            "name": "hot",
            "sensor_type": "temperature",
            "op": ">",
            "threshold": 40,
            "severity": "warning",
        },
        headers=admin,
    )
    webhook = await server.client.post(
        "/admin/v1/webhooks",
        json={"url": "https://hooks.example.com/climasense", "secret": "s" * 32},
        headers=admin,
    )
    assert rule.status_code == 201, rule.text
    assert webhook.status_code == 201, webhook.text
    return {
        "device_id": fleet.device_id,
        "model": fleet.model,
        "version": fleet.firmware_version,
        "release_id": fleet.release_id,
        "command_id": fleet.command_ids[0],
        "rule_id": str(rule.json()["rule_id"]),
        "webhook_id": str(webhook.json()["webhook_id"]),
    }


def config_text(token: str, ids: dict[str, str]) -> str:
    path_ids = ", ".join(f'"path.{name}" = {json.dumps(value)}' for name, value in ids.items())
    return "\n".join(
        [
            "[generation]",
            "deterministic = true",
            f"max-examples = {MAX_EXAMPLES}",
            'database = "none"',
            "",
            "[[operations]]",
            'include-path-regex = "^/admin/v1/"',
            f'headers = {{ Authorization = "Bearer {token}" }}',
            f"parameters = {{ {path_ids} }}",
            "",
        ]
    )


async def test_operator_api_answers_as_its_openapi_document_says(
    fresh_database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A database of its own: the fuzzer creates fleet-wide state (alert rules on any sensor and
    # threshold, webhooks to generated hosts) that would otherwise open alerts on every later
    # test's devices and send their events to hosts that do not exist.
    settings = make_settings(
        fresh_database_url,
        tmp_path,
        rate_limits=unlimited(),
        failed_auth_limit=RateLimit(1_000_000, 60),
        run_worker=False,
    )
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        fleet = await build_fleet(server.client, token)
        ids = await known_ids(server, token, fleet)
        document = (await server.client.get("/openapi.json")).json()
        config = tmp_path / "schemathesis.toml"
        config.write_text(config_text(token, ids))
        reports = tmp_path / "reports"
        code, output = await run_schemathesis(
            f"{server.url}/openapi.json",
            server.url,
            config,
            reports,
            ("--include-path-regex", "^/admin/v1/", "--checks", CHECKS),
        )
    # Generated URLs can be very long: each output line is cut, the failure stays readable.
    assert code == 0, "\n".join(line[:400] for line in output.splitlines()[-300:])
    report: dict[str, Any] = json.loads(next(reports.glob("*.json")).read_text())
    operator_operations = sum(
        len(item) for path, item in document["paths"].items() if path.startswith("/admin/v1/")
    )
    assert report["operations"]["tested"] == operator_operations
    cases = report["test_cases"]
    assert cases["generated"] >= 500, cases
    assert (cases["with_failures"], cases["errored"]) == (0, 0), cases
    assert (report["failures"], report["errors"]) == ([], [])
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    print(f"schemathesis /admin/v1: {cases['generated']} requests, {report['running_time']:.1f} s")
