"""/metrics in one process: the series of CONTRACT §10, route templates, the token."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from climasense.observability import metrics
from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import LiveServer, live_server

REQUIRED = [
    "climasense_http_requests_total",
    "climasense_http_request_duration_seconds_bucket",
    "climasense_readings_total",
    "climasense_ingest_commit_duration_seconds_bucket",
    "climasense_ingest_pending_readings",
    "climasense_rate_limited_total",
    "climasense_auth_failures_total",
    "climasense_alert_outbox_rows",
    "climasense_alerts_open",
    "climasense_webhook_deliveries_total",
    "climasense_ota_download_bytes_total",
]


def sample(text: str, name: str, **labels: str) -> float:
    """The value of one series in an exposition text (0 when absent)."""
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = re.fullmatch(r"([a-z_]+)(?:\{(.*)\})? (\S+)", line)
        if not match or match.group(1) != name:
            continue
        found = dict(re.findall(r'(\w+)="([^"]*)"', match.group(2) or ""))
        if all(found.get(k) == v for k, v in labels.items()):
            return float(match.group(3))
    return 0.0


def readings(count: int) -> list[dict[str, object]]:
    now = datetime.now(UTC)
    return [
        {
            "sensor_type": "temperature",
            "value": 20.0,
            "timestamp": (now - timedelta(seconds=i)).isoformat(),
        }
        for i in range(count)
    ]


async def test_metrics_count_requests_by_template_and_readings_by_outcome(
    server: LiveServer, token: str
) -> None:
    metrics.rate_limited("telemetry")  # a labelled counter appears once it has a child
    metrics.webhook_delivery("delivered")
    client = server.client
    before = (await client.get("/metrics")).text
    device = (await provision(client, token))[0]
    batch = [*readings(3), {"sensor_type": "nope", "value": 1, "timestamp": "x"}]
    response = await client.post(
        "/v1/telemetry", json={"readings": batch}, headers=bearer(device["api_key"])
    )
    assert response.status_code == 202, response.text
    await client.post(
        "/v1/telemetry", json={"readings": batch[:1]}, headers=bearer(device["api_key"])
    )
    await client.get("/v1/ota/download/1.2.3", headers=bearer(device["api_key"]))
    await client.get("/v1/settings", headers=bearer("csk_nonsense"))

    scrape = await client.get("/metrics")
    assert scrape.status_code == 200
    assert scrape.headers["content-type"].startswith("text/plain")
    after = scrape.text
    for name in REQUIRED:
        assert re.search(rf"^{name}(\{{| )", after, re.M), name

    def delta(name: str, **labels: str) -> float:
        return sample(after, name, **labels) - sample(before, name, **labels)

    assert delta("climasense_readings_total", outcome="accepted") == 4
    assert delta("climasense_readings_total", outcome="rejected") == 1
    assert delta("climasense_readings_total", outcome="duplicate") == 1
    assert (
        delta("climasense_http_requests_total", route="/v1/telemetry", method="POST", status="202")
        == 2
    )
    # The template, never the raw path with the version in it.
    assert "1.2.3" not in after
    assert (
        sample(
            after,
            "climasense_http_requests_total",
            route="/v1/ota/download/{version}",
            method="GET",
            status="404",
        )
        >= 1
    )
    assert delta("climasense_auth_failures_total") >= 1
    assert sample(after, "climasense_ingest_commit_duration_seconds_count") >= 1


async def test_an_unknown_path_is_one_unmatched_route(server: LiveServer) -> None:
    for i in range(3):
        await server.client.get(f"/no/such/page/{i}")
        await server.client.get(f"/v1/no-such/{i}")
    text = (await server.client.get("/metrics")).text
    assert "/no/such/page" not in text
    assert "/v1/no-such" not in text
    assert (
        sample(
            text, "climasense_http_requests_total", route="unmatched", method="GET", status="404"
        )
        >= 6
    )


async def test_the_metrics_token_is_required_when_set(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, metrics_token="scrape-secret-1234")
    async with live_server(settings) as live:
        refused = await live.client.get("/metrics")
        assert refused.status_code == 401
        assert set(refused.json()) >= {"error", "message", "details"}
        assert refused.json()["error"] == "unauthorized"
        wrong = await live.client.get("/metrics", headers=bearer("scrape-secret-12345"))
        assert wrong.status_code == 401
        allowed = await live.client.get("/metrics", headers=bearer("scrape-secret-1234"))
        assert allowed.status_code == 200
        assert "climasense_http_requests_total" in allowed.text


async def test_database_gauges_follow_the_outbox_and_open_alerts(
    server: LiveServer, token: str
) -> None:
    device = (await provision(server.client, token))[0]
    await server.client.post(
        "/v1/telemetry", json={"readings": readings(2)}, headers=bearer(device["api_key"])
    )
    async with server.services.pool.acquire() as conn:
        outbox = await conn.fetchval("SELECT count(*) FROM alert_outbox")
        open_alerts = await conn.fetchval("SELECT count(*) FROM alerts WHERE state <> 'resolved'")
    text = (await server.client.get("/metrics")).text
    # The worker may evaluate between the two reads: the gauge is at most what we saw.
    assert 0 <= sample(text, "climasense_alert_outbox_rows") <= outbox
    assert sample(text, "climasense_alerts_open") >= open_alerts


async def test_another_admin_token_stays_out_of_metrics(server: LiveServer) -> None:
    secret = await admin_token(server.services)
    await server.client.get("/admin/v1/devices", headers=bearer(secret))
    text = (await server.client.get("/metrics")).text
    assert secret not in text
    assert (
        sample(
            text,
            "climasense_http_requests_total",
            route="/admin/v1/devices",
            method="GET",
            status="200",
        )
        >= 1
    )


async def test_static_files_are_one_route(server: LiveServer) -> None:
    await server.client.get("/static/no-such-file.css")
    text = (await server.client.get("/metrics")).text
    assert "no-such-file" not in text
