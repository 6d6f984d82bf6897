"""Schemathesis against the production app under uvicorn: every routed operation of the
contract's `openapi.yaml`, every check, generated valid and invalid input, deterministic
(Hypothesis `derandomize`) and bounded. The server must answer as the contract says: no
failure, no 5xx.

Where a check's verdict follows from the contract's own schema being looser than its prose
(a field the prose requires to be a semantic version or an IANA zone is a plain `string` in
the schema), the check is told which documented statuses are right for that operation. Each
such allowance is listed in `ALLOWANCES` with its reason, and in docs/reliability.md.
"""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import pytest
import yaml

from climasense.api.device_routes import device_routes
from climasense.settings import RateLimit
from tests.conftest import make_settings
from tests.hardening.fleet import build_fleet, unlimited
from tests.hardening.schemathesis_cli import ROOT, run_schemathesis
from tests.support.factories import admin_token
from tests.support.server import live_server

pytestmark = pytest.mark.slow

CONTRACT = ROOT / "src" / "climasense" / "contract" / "openapi.yaml"
MAX_EXAMPLES = 200  # per operation and phase: ~1,600 requests, ~15 s (600: ~4,800, 45 s)

# schemathesis' defaults for the two checks that judge whether input was rightly accepted.
ACCEPTED = ["2xx", "3xx", "401", "403", "404", "409", "429", "5xx"]
REFUSED = ["400", "401", "403", "404", "405", "406", "409", "415", "422", "428", "429", "5xx"]

# operation -> check -> (statuses also right, why)
ALLOWANCES: dict[str, dict[str, tuple[list[str], str]]] = {
    "GET /v1/ota/check": {
        "positive_data_acceptance": (
            ["422"],
            "`current_version` is `type: string` in the schema; the prose (and the 422 "
            "response) require a semantic version",
        )
    },
    "POST /v1/ota/status": {
        "positive_data_acceptance": (
            ["422"],
            "`version` is `type: string`; versions are semantic versions throughout §4.4",
        )
    },
    "PATCH /v1/settings": {
        "positive_data_acceptance": (
            ["412", "422"],
            "`timezone` is `type: string` but must name an IANA zone; a `location` patch is "
            "schema-valid without coordinates but the merged location must have them; the "
            '`If-Match` example `"7"` is a stale version (412 by design)',
        )
    },
    "POST /v1/hub/sensors": {
        "positive_data_acceptance": (
            ["422"],
            "`sensor_api_key` is `type: string`; only a pre-provisioned Zigbee sensor key is "
            "accepted (422 `invalid_sensor_key`)",
        )
    },
    "POST /v1/telemetry": {
        "negative_data_rejection": (
            ["202"],
            "a reading that breaks `SensorReading` (type, range, timestamp, sensor_id) is "
            "rejected on its own inside a 202 (CONTRACT §4.1); `telemetry_batch_semantics` "
            "(schemathesis_hooks.py) checks that a broken envelope is still refused",
        )
    },
}
DEFAULTS = {"positive_data_acceptance": ACCEPTED, "negative_data_rejection": REFUSED}

# operation -> (checks not run, why)
EXCLUDED_CHECKS: dict[str, tuple[list[str], str]] = {
    "GET /v1/hub/sensors": (
        ["status_code_conformance", "positive_data_acceptance"],
        "`cursor` is `type: string`, and any string is schema-valid; a cursor this API did "
        "not hand out is 422 (docs/api.md), a status the contract does not list for this "
        "operation",
    ),
}


def contract_operations() -> set[str]:
    paths = yaml.safe_load(CONTRACT.read_text())["paths"]
    return {f"{method.upper()} {path}" for path, item in paths.items() for method in item}


def routed_operations() -> set[str]:
    return {f"{route.method} {route.path}" for route in device_routes()}


def config_text(device_key: str, hub_key: str) -> str:
    """schemathesis.toml: one `[[operations]]` entry per operation (the first entry matching an
    operation is the one that applies), each with its key and its allowances."""
    lines = [
        'hooks = "tests.hardening.schemathesis_hooks"',
        "",
        "[generation]",
        "deterministic = true",
        f"max-examples = {MAX_EXAMPLES}",
        'database = "none"',
    ]
    routed = routed_operations()
    for name in sorted(contract_operations()):
        key = hub_key if name.split(" ", 1)[1].startswith("/v1/hub/") else device_key
        lines += ["", "[[operations]]", f"include-name = {json.dumps(name)}"]
        # An operation the contract has and the server does not route (yet) is the route
        # conformance test's failure (test_routes.py), not a fuzzing finding.
        if name not in routed:
            lines.append("enabled = false")
            continue
        lines.append(f'headers = {{ Authorization = "Bearer {key}" }}')
        for check, (statuses, _) in ALLOWANCES.get(name, {}).items():
            expected = DEFAULTS[check] + statuses
            lines.append(f"checks.{check}.expected-statuses = {json.dumps(expected)}")
        for check in EXCLUDED_CHECKS.get(name, ([], ""))[0]:
            lines.append(f"checks.{check}.enabled = false")
    return "\n".join(lines) + "\n"


async def test_generated_requests_meet_the_contract(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        rate_limits=unlimited(),
        failed_auth_limit=RateLimit(1_000_000, 60),
        run_worker=False,
    )
    async with live_server(settings) as server:
        fleet = await build_fleet(server.client, await admin_token(server.services))
        config = tmp_path / "schemathesis.toml"
        config.write_text(config_text(fleet.device_key, fleet.hub_key))
        reports = tmp_path / "reports"
        code, output = await run_schemathesis(str(CONTRACT), server.url, config, reports)
    assert code == 0, output[-20000:]
    report: dict[str, Any] = json.loads(next(reports.glob("*.json")).read_text())
    cases = report["test_cases"]
    assert report["operations"]["tested"] == len(routed_operations() & contract_operations())
    assert cases["generated"] >= 1000, cases
    assert (cases["with_failures"], cases["errored"]) == (0, 0), cases
    assert (report["failures"], report["errors"]) == ([], [])
    # No 5xx got past schemathesis' own check either: nothing was logged as a server bug.
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR] == []
    print(f"schemathesis: {cases['generated']} requests, {report['running_time']:.1f} s")
