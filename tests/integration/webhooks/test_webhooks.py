"""Webhooks end to end: a real receiver on loopback, the in-process worker delivering."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest

from climasense.alert_settings import AlertSettings
from climasense.webhooks.sender import HttpxSender, WebhookSender
from tests.conftest import make_settings
from tests.support.alerts import create_rule, wait_for
from tests.support.factories import admin_token, bearer, provision
from tests.support.readings import store_readings
from tests.support.receiver import receiver
from tests.support.server import LiveServer, free_port, live_server

SECRET = "whsec-0123456789abcdef"
FAST = AlertSettings(
    poll_seconds=0.05,
    webhook_poll_seconds=0.05,
    webhook_retry_base_seconds=0.1,
    webhook_retry_max_seconds=0.5,
    webhook_timeout_seconds=1.0,
    webhook_max_attempts=4,
)


@pytest.fixture
async def worker_server(fresh_database_url: str, tmp_path: object) -> AsyncIterator[LiveServer]:
    settings = make_settings(fresh_database_url, tmp_path, alerts=FAST)
    async with live_server(settings) as live:
        yield live


async def register(server: LiveServer, token: str, url: str) -> dict[str, Any]:
    response = await server.client.post(
        "/admin/v1/webhooks", json={"url": url, "secret": SECRET}, headers=bearer(token)
    )
    assert response.status_code == 201, response.text
    hook: dict[str, Any] = response.json()
    return hook


async def trigger_alert(server: LiveServer, token: str) -> tuple[str, str]:
    [device] = await provision(server.client, token)
    rule = await create_rule(
        server.client,
        token,
        sensor_type="temperature",
        op=">",
        threshold=40,
        device_id=device["device_id"],
    )
    ts = datetime.now(UTC) - timedelta(seconds=30)
    await store_readings(server.services.pool, device["device_id"], [("temperature", ts, 45.0)])
    return str(device["device_id"]), str(rule["rule_id"])


def verify(body: bytes, header: str) -> bool:
    expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header)


async def test_secret_is_never_returned(worker_server: LiveServer) -> None:
    token = await admin_token(worker_server.services)
    hook = await register(worker_server, token, "https://example.invalid/hook")
    assert "secret" not in hook
    listed = await worker_server.client.get("/admin/v1/webhooks", headers=bearer(token))
    assert [h["webhook_id"] for h in listed.json()["webhooks"]] == [hook["webhook_id"]]
    assert SECRET not in listed.text
    one = await worker_server.client.get(
        f"/admin/v1/webhooks/{hook['webhook_id']}", headers=bearer(token)
    )
    assert SECRET not in one.text


@pytest.mark.parametrize(
    "body",
    [
        {"url": "ftp://example.com/x", "secret": SECRET},
        {"url": "not a url", "secret": SECRET},
        {"url": "https://example.com/x", "secret": "short"},
        {"url": "https://example.com/x"},
    ],
)
async def test_invalid_webhooks(worker_server: LiveServer, body: dict[str, Any]) -> None:
    token = await admin_token(worker_server.services)
    response = await worker_server.client.post(
        "/admin/v1/webhooks", json=body, headers=bearer(token)
    )
    assert response.status_code == 422, response.text


async def test_signed_events_for_opening_and_resolving(worker_server: LiveServer) -> None:
    token = await admin_token(worker_server.services)
    async with receiver() as endpoint:
        await register(worker_server, token, endpoint.url)
        device, rule = await trigger_alert(worker_server, token)
        await wait_for(lambda: _count(endpoint, 1))
        ts = datetime.now(UTC) - timedelta(seconds=10)
        await store_readings(worker_server.services.pool, device, [("temperature", ts, 20.0)])
        await wait_for(lambda: _count(endpoint, 2))

    opened, resolved = endpoint.requests
    for request in (opened, resolved):
        assert verify(request.body, request.headers["x-climasense-signature"])
        assert request.headers["content-type"] == "application/json"
        # Standard Webhooks: v1,<base64 HMAC-SHA256 of "id.timestamp.body">.
        message_id = request.headers["webhook-id"]
        timestamp = request.headers["webhook-timestamp"]
        assert abs(int(timestamp) - datetime.now(UTC).timestamp()) < 60
        signed = f"{message_id}.{timestamp}.".encode() + request.body
        digest = hmac.new(SECRET.encode(), signed, hashlib.sha256).digest()
        assert request.headers["webhook-signature"] == "v1," + base64.b64encode(digest).decode()
    opened_event, resolved_event = orjson.loads(opened.body), orjson.loads(resolved.body)
    assert set(opened_event) == {"type", "alert", "sent_at"}
    assert opened_event["type"] == "alert.opened"
    assert resolved_event["type"] == "alert.resolved"
    alert = opened_event["alert"]
    assert (alert["device_id"], alert["rule_id"], alert["state"]) == (device, rule, "open")
    assert alert["sensor_type"] == "temperature"
    assert alert["value"] == 45.0
    assert set(alert) >= {
        "alert_id",
        "rule_id",
        "device_id",
        "sensor_id",
        "sensor_type",
        "severity",
        "state",
        "opened_at",
        "resolved_at",
        "value",
    }
    assert resolved_event["alert"]["alert_id"] == alert["alert_id"]
    assert resolved_event["alert"]["state"] == "resolved"
    assert resolved_event["alert"]["resolved_at"] is not None
    # A tampered body does not verify.
    assert not verify(
        opened.body.replace(b"45.0", b"46.0"), opened.headers["x-climasense-signature"]
    )


async def test_retried_with_backoff_after_500s_and_attempts_are_visible(
    worker_server: LiveServer,
) -> None:
    token = await admin_token(worker_server.services)
    async with receiver() as endpoint:
        endpoint.script = [500, 500]
        hook = await register(worker_server, token, endpoint.url)
        await trigger_alert(worker_server, token)
        await wait_for(lambda: _count(endpoint, 3))
        url = f"/admin/v1/webhooks/{hook['webhook_id']}/deliveries"

        async def delivered() -> Any:
            response = await worker_server.client.get(url, headers=bearer(token))
            [delivery] = response.json()["deliveries"]
            return delivery if delivery["state"] == "delivered" else None

        delivery = await wait_for(delivered)
    assert [a["status_code"] for a in delivery["attempt_log"]] == [500, 500, 200]
    assert delivery["attempts"] == 3
    assert delivery["next_attempt_at"] is None
    # Same delivery id every time, so receivers can deduplicate; each signed afresh.
    assert len({r.headers["x-climasense-delivery"] for r in endpoint.requests}) == 1
    assert all(verify(r.body, r.headers["x-climasense-signature"]) for r in endpoint.requests)


async def test_a_dead_endpoint_blocks_neither_evaluation_nor_other_webhooks(
    worker_server: LiveServer,
) -> None:
    token = await admin_token(worker_server.services)
    dead = await register(worker_server, token, f"http://127.0.0.1:{free_port()}/gone")
    async with receiver() as endpoint:
        await register(worker_server, token, endpoint.url)
        for _ in range(3):
            await trigger_alert(worker_server, token)
        await wait_for(lambda: _count(endpoint, 3))
    response = await worker_server.client.get(
        f"/admin/v1/webhooks/{dead['webhook_id']}/deliveries", headers=bearer(token)
    )
    deliveries = response.json()["deliveries"]
    assert len(deliveries) == 3
    assert all(d["state"] in {"pending", "failed"} and d["last_error"] for d in deliveries)


async def test_a_slow_endpoint_does_not_hold_up_other_endpoints(
    fresh_database_url: str, tmp_path: object
) -> None:
    # A receiver that answers only after the sender's timeout: each of its attempts occupies
    # the sender for the whole timeout. An event queued meanwhile for a healthy receiver is
    # sent at the next poll, not after the slow attempt gives up (the scale-out test saw an
    # event over 20 s late while leftover webhooks of other tests timed out).
    timeout = 4.0
    alerts = AlertSettings(
        poll_seconds=0.05,
        webhook_poll_seconds=0.05,
        webhook_timeout_seconds=timeout,
        webhook_retry_base_seconds=60.0,
    )
    settings = make_settings(fresh_database_url, tmp_path, alerts=alerts)
    async with live_server(settings) as server, receiver() as slow, receiver() as healthy:
        slow.delay_seconds = 2 * timeout
        token = await admin_token(server.services)
        await register(server, token, slow.url)
        await register(server, token, healthy.url)
        await trigger_alert(server, token)
        await wait_for(lambda: _both(slow, healthy, 1))
        await asyncio.sleep(0.5)  # the slow attempt is in flight
        queued = time.monotonic()
        await trigger_alert(server, token)
        await wait_for(lambda: _count(healthy, 2), timeout=2 * timeout)
        late = time.monotonic() - queued
        slow.delay_seconds = 0.0
    assert late < timeout / 2, f"the healthy endpoint's event waited {late:.1f} s"


async def _both(a: Any, b: Any, n: int) -> bool:
    return len(a.requests) >= n and len(b.requests) >= n


async def test_deleted_webhook_gets_nothing_more(worker_server: LiveServer) -> None:
    token = await admin_token(worker_server.services)
    hook = await register(worker_server, token, f"http://127.0.0.1:{free_port()}/gone")
    url = f"/admin/v1/webhooks/{hook['webhook_id']}"
    assert (await worker_server.client.delete(url, headers=bearer(token))).status_code == 204
    assert (await worker_server.client.get(url, headers=bearer(token))).status_code == 404
    async with receiver() as endpoint:
        await register(worker_server, token, endpoint.url)
        await trigger_alert(worker_server, token)
        await wait_for(lambda: _count(endpoint, 1))
    deliveries = await worker_server.services.pool.fetch(
        "SELECT webhook_id FROM webhook_deliveries"
    )
    assert str(hook["webhook_id"]) not in {str(d["webhook_id"]) for d in deliveries}
    assert len(deliveries) == 1


async def _count(endpoint: Any, n: int) -> bool:
    return len(endpoint.requests) >= n


# --- the WebhookSender protocol, against a real endpoint ------------------------------------


def senders() -> list[WebhookSender]:
    return [HttpxSender(timeout_seconds=0.5, allow_private_networks=True)]


@pytest.mark.parametrize("make", [0])
async def test_sender_conformance(make: int) -> None:
    sender = senders()[make]
    try:
        async with receiver() as endpoint:
            ok = await sender.send(endpoint.url, b"{}", {"X-Test": "1"})
            assert (ok.status_code, ok.delivered, ok.error) == (200, True, None)
            assert endpoint.requests[0].headers["x-test"] == "1"
            endpoint.script = [503]
            failed = await sender.send(endpoint.url, b"{}", {})
            assert (failed.status_code, failed.delivered) == (503, False)
            endpoint.delay_seconds = 2.0
            slow = await sender.send(endpoint.url, b"{}", {})
            assert (slow.status_code, slow.error) == (None, "timeout")
        refused = await sender.send(f"http://127.0.0.1:{free_port()}/", b"{}", {})
        assert refused.status_code is None
        assert refused.error
    finally:
        await sender.close()


@asynccontextmanager
async def dropping_endpoint(answered: int, drop: str) -> AsyncIterator[tuple[str, list[int]]]:
    """An endpoint that answers the first `answered` requests of each connection (keeping it
    alive), then drops the connection (`close` or `reset`) as the next request arrives; with
    the URL, the connection number of every request it read."""
    requests: list[int] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connection = max(requests, default=0) + 1
        served = 0
        while head := await reader.readuntil(b"\r\n\r\n"):
            lines = head.lower().split(b"\r\n")
            length = next(int(x.split(b":")[1]) for x in lines if x.startswith(b"content-length"))
            await reader.readexactly(length)
            requests.append(connection)
            if served == answered:
                if drop == "reset":
                    writer.transport.abort()
                else:
                    writer.close()
                return
            served += 1
            writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
            await writer.drain()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/hook", requests
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.parametrize("drop", ["close", "reset"])
async def test_a_kept_alive_connection_closed_by_the_endpoint_is_not_a_failed_attempt(
    drop: str,
) -> None:
    # What a server closing an idle connection just as the sender reuses it looks like
    # (uvicorn's 5 s keep-alive is the pool's own expiry: 13 of 300 sends at that moment failed
    # so). The request goes again at once on a new connection, and the attempt is delivered.
    sender = HttpxSender(timeout_seconds=2.0, allow_private_networks=True)
    try:
        async with dropping_endpoint(1, drop) as (url, requests):
            first = await sender.send(url, b"{}", {})
            second = await sender.send(url, b"{}", {})
    finally:
        await sender.close()
    assert (first.status_code, second.status_code, second.error) == (200, 200, None)
    assert requests == [1, 1, 2]  # the second request again, on a second connection


@pytest.mark.parametrize("drop", ["close", "reset"])
async def test_a_new_connection_dropped_by_the_endpoint_is_a_failed_attempt(drop: str) -> None:
    sender = HttpxSender(timeout_seconds=2.0, allow_private_networks=True)
    try:
        async with dropping_endpoint(0, drop) as (url, requests):
            result = await sender.send(url, b"{}", {})
    finally:
        await sender.close()
    assert result.status_code is None
    assert result.error is not None
    assert requests == [1]  # not sent again: the backoff decides when
