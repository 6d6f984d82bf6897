"""Webhook targets outside the private network (CONTRACT §8): refused with 422 on `url` at
registration, and checked again at delivery, where the connection goes to the checked
address. CLIMASENSE_WEBHOOK_ALLOW_PRIVATE_NETWORKS lifts the address rule."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from climasense.webhooks.sender import HttpxSender
from climasense.webhooks.targets import TargetRefused, pin
from tests.conftest import make_settings
from tests.support.factories import admin_token, bearer
from tests.support.receiver import receiver
from tests.support.server import LiveServer, live_server

SECRET = "whsec-0123456789abcdef"

REFUSED = [
    "http://127.0.0.1/hook",
    "http://127.0.0.1:8080/hook",
    "http://localhost/hook",
    "http://LOCALHOST./hook",
    "http://api.localhost/hook",
    "http://[::1]/hook",
    "http://0.0.0.0/hook",
    "http://0/hook",
    "http://2130706433/hook",
    "http://0x7f.0.0.1/hook",
    "http://0x7f000001/hook",
    "http://0177.0.0.1/hook",
    "http://127.1/hook",
    "http://10.0.0.5/hook",
    "http://172.16.3.4/hook",
    "http://192.168.1.1/hook",
    "http://169.254.169.254/latest/meta-data",
    "http://100.64.0.1/hook",
    "http://224.0.0.1/hook",
    "http://[fd00::1]/hook",
    "http://[fe80::1]/hook",
    "http://[::ffff:127.0.0.1]/hook",
    "http://[::ffff:7f00:1]/hook",
    "http://[2002:7f00:1::]/hook",
    "http://[::]/hook",
    "https://user:pass@hooks.example.com/x",
    "https://user@hooks.example.com/x",
    "ftp://hooks.example.com/x",
    "http:///nohost",
]
ACCEPTED = ["https://hooks.example.invalid/x", "https://93.184.215.14/x", "http://[2606:4700::1]/"]


@pytest.fixture
async def strict(database_url: str, tmp_path: Path) -> AsyncIterator[LiveServer]:
    # The production default: private networks refused.
    settings = make_settings(database_url, tmp_path, webhook_allow_private_networks=False)
    async with live_server(settings) as server:
        yield server


async def test_private_and_local_targets_are_refused(
    strict: LiveServer, capsys: pytest.CaptureFixture[str]
) -> None:
    token = await admin_token(strict.services)
    for url in REFUSED:
        response = await strict.client.post(
            "/admin/v1/webhooks", json={"url": url, "secret": SECRET}, headers=bearer(token)
        )
        assert response.status_code == 422, (url, response.text)
        assert response.json()["details"][0]["field"] == "url", url
    accepted = []
    for url in ACCEPTED:
        response = await strict.client.post(
            "/admin/v1/webhooks", json={"url": url, "secret": SECRET}, headers=bearer(token)
        )
        assert response.status_code == 201, (url, response.text)
        accepted.append(response.json()["webhook_id"])
    listed = await strict.client.get("/admin/v1/webhooks", headers=bearer(token))
    assert "pass@" not in listed.text
    # The database is the session's: later tests' alerts would be sent to these hosts.
    for webhook_id in accepted:
        deleted = await strict.client.delete(
            f"/admin/v1/webhooks/{webhook_id}", headers=bearer(token)
        )
        assert deleted.status_code == 204, deleted.text
    with capsys.disabled():
        print(f"\nwebhook targets: {len(REFUSED)} refused with 422, {len(ACCEPTED)} accepted")


async def test_delivery_checks_the_address_again() -> None:
    sender = HttpxSender(timeout_seconds=1.0)  # the default: private networks refused
    try:
        async with receiver() as endpoint:
            result = await sender.send(endpoint.url, b"{}", {})
            assert result.status_code is None
            assert result.error is not None
            assert result.error.startswith("target refused")
            assert endpoint.requests == []
    finally:
        await sender.close()


async def test_a_name_resolving_to_a_private_address_is_refused_at_delivery() -> None:
    # This machine's own name resolves to a loopback or private address in test setups;
    # a name re-pointed after registration (DNS rebinding) is caught the same way.
    name = socket.gethostname()
    try:
        addresses = {info[4][0] for info in socket.getaddrinfo(name, 80)}
    except OSError:
        pytest.skip("this host's name does not resolve")
    if any(ipaddress.ip_address(str(a).split("%")[0]).is_global for a in addresses):
        pytest.skip("this host's name resolves to a public address")
    with pytest.raises(TargetRefused):
        await pin(f"http://{name}/hook", allow_private=False)
    pinned, host, sni = await pin(f"https://{name}:8443/hook", allow_private=True)
    assert host == f"{name}:8443"
    assert sni == name
    assert name not in pinned


async def test_allowing_private_networks_delivers_to_loopback() -> None:
    sender = HttpxSender(timeout_seconds=1.0, allow_private_networks=True)
    try:
        async with receiver() as endpoint:
            result = await sender.send(endpoint.url, b"{}", {})
            assert result.delivered
            assert endpoint.requests[0].headers["host"] == endpoint.url.split("/")[2]
    finally:
        await sender.close()
