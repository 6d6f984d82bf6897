"""The Grafana dashboard and the Prometheus rules name only series the server exports, and
promtool accepts the rules and the configuration."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
import yaml

from tests.deploy.support import DEPLOY, exported_series, promql_series
from tests.support.server import LiveServer

DASHBOARD = DEPLOY / "grafana" / "dashboards" / "climasense.json"
RULES = DEPLOY / "prometheus" / "alerts.yml"


def _dashboard_expressions() -> list[str]:
    dashboard = json.loads(DASHBOARD.read_text())
    return [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]


def _rule_expressions() -> list[str]:
    groups = yaml.safe_load(RULES.read_text())["groups"]
    return [rule["expr"] for group in groups for rule in group["rules"]]


async def test_dashboard_and_rules_query_only_exported_series(server: LiveServer) -> None:
    exported = exported_series((await server.client.get("/metrics")).text)
    for expression in _dashboard_expressions() + _rule_expressions():
        names = promql_series(expression)
        assert names or expression.startswith("up{"), expression
        assert names <= exported, (expression, names - exported)


def test_the_dashboard_shows_what_operators_need() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    titles = " ".join(panel["title"].lower() for panel in dashboard["panels"])
    for topic in ("readings", "5xx", "commit p99", "pending", "outbox", "open alerts", "ota"):
        assert topic in titles, topic
    datasource = yaml.safe_load(
        (DEPLOY / "grafana" / "provisioning" / "datasources" / "prometheus.yml").read_text()
    )["datasources"][0]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == datasource["uid"]


def test_the_rules_cover_what_should_wake_someone() -> None:
    expressions = " ".join(_rule_expressions())
    assert 'status=~"5.."' in expressions
    assert 'route="/v1/telemetry",status="503"' in expressions
    assert "climasense_alert_outbox_rows" in expressions
    assert "climasense_readings_total" in expressions


def _promtool() -> str:
    found = shutil.which("promtool")
    if found is None:
        pytest.skip("promtool missing (scripts/test installs Debian's prometheus package)")
    return found


def test_promtool_checks_the_rules() -> None:
    result = subprocess.run(
        [_promtool(), "check", "rules", str(RULES)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def test_promtool_checks_the_configuration() -> None:
    result = subprocess.run(
        [_promtool(), "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
