"""The audit trail (CONTRACT §9): one entry per operator change, in the change's transaction,
never a secret, append-only, read newest first with filters (admin only)."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from climasense.audit import SystemActor, record_audit
from climasense.devices import service as devices_service
from tests.support.factories import admin_token, bearer, provision
from tests.support.routes import served_routes
from tests.support.server import LiveServer


async def _entries(server: LiveServer, token: str, **params: Any) -> list[dict[str, Any]]:
    response = await server.client.get("/admin/v1/audit", params=params, headers=bearer(token))
    assert response.status_code == 200, response.text
    entries: list[dict[str, Any]] = response.json()["entries"]
    return entries


async def test_each_operator_action_leaves_one_entry_naming_its_actor(
    server: LiveServer, token: str
) -> None:
    operator = await admin_token(server.services, "op-audit", "operator")
    me = (await server.client.get("/admin/v1/whoami", headers=bearer(operator))).json()
    auth = bearer(operator)
    [device] = await provision(server.client, operator, batch="audit-a")
    device_id = device["device_id"]
    client = server.client
    assert (await client.post(f"/admin/v1/devices/{device_id}/rotate-key", headers=auth)).is_success
    patched = await client.patch(
        f"/admin/v1/devices/{device_id}/settings",
        json={"reporting_interval_seconds": 600},
        headers=auth,
    )
    assert patched.status_code == 200, patched.text
    sent = await client.post(
        f"/admin/v1/devices/{device_id}/commands", json={"type": "reboot"}, headers=auth
    )
    command_id = sent.json()["command_id"]
    assert (await client.post(f"/admin/v1/commands/{command_id}/cancel", headers=auth)).is_success
    rule = await client.post(
        "/admin/v1/alert-rules",
        json={
            "name": "hot",
            "sensor_type": "temperature",
            "op": ">",
            "threshold": 50,
            "severity": "warning",
            "batch": "audit-a",
        },
        headers=auth,
    )
    assert rule.status_code == 201, rule.text
    rule_id = rule.json()["rule_id"]
    assert (
        await client.delete(f"/admin/v1/alert-rules/{rule_id}", headers=auth)
    ).status_code == 204
    hook = await client.post(
        "/admin/v1/webhooks",
        json={"url": "https://hooks.example/x?key=abc", "secret": "s" * 20},
        headers=auth,
    )
    assert hook.status_code == 201, hook.text
    hook_id = hook.json()["webhook_id"]
    assert (await client.delete(f"/admin/v1/webhooks/{hook_id}", headers=auth)).status_code == 204
    assert (await client.post(f"/admin/v1/devices/{device_id}/revoke", headers=auth)).is_success

    entries = await _entries(server, token, actor_token_id=me["token_id"])
    actions = [e["action"] for e in reversed(entries)]
    assert actions == [
        "device.provision",
        "device.rotate_key",
        "settings.update",
        "command.send",
        "command.cancel",
        "rule.create",
        "rule.delete",
        "webhook.create",
        "webhook.delete",
        "device.revoke",
    ]
    for entry in entries:
        assert entry["actor"] == {
            "token_id": me["token_id"],
            "name": "op-audit",
            "role": "operator",
        }
    text = str(entries)
    assert "pw" not in text
    assert "key=abc" not in text
    assert "s" * 20 not in text
    assert device["api_key"] not in text
    by_target = await _entries(server, token, target_id=command_id)
    assert [e["action"] for e in by_target] == ["command.cancel", "command.send"]
    only = await _entries(server, token, action="settings.update", target_id=device_id)
    assert len(only) == 1
    assert only[0]["details"]["changed"] == {"reporting_interval_seconds": 600}


async def test_token_changes_are_audited(server: LiveServer, token: str) -> None:
    created = await server.client.post(
        "/admin/v1/tokens", json={"name": "audited", "role": "viewer"}, headers=bearer(token)
    )
    token_id = created.json()["token_id"]
    await server.client.delete(f"/admin/v1/tokens/{token_id}", headers=bearer(token))
    entries = await _entries(server, token, target_id=token_id)
    assert [e["action"] for e in entries] == ["token.revoke", "token.create"]
    assert created.json()["token"] not in str(entries)


async def test_a_refused_change_leaves_no_entry(server: LiveServer, token: str) -> None:
    viewer = await admin_token(server.services, "viewer-refused", "viewer")
    [device] = await provision(server.client, token, batch="audit-refused")
    device_id = device["device_id"]
    refused = await server.client.post(
        f"/admin/v1/devices/{device_id}/revoke", headers=bearer(viewer)
    )
    assert refused.status_code == 403
    invalid = await server.client.post(
        f"/admin/v1/devices/{device_id}/commands",
        json={"type": "factory_reset", "confirm": "wrong"},
        headers=bearer(token),
    )
    assert invalid.status_code == 422
    stale = await server.client.patch(
        f"/admin/v1/devices/{device_id}/settings",
        json={"reporting_interval_seconds": 900},
        headers={**bearer(token), "If-Match": '"999"'},
    )
    assert stale.status_code == 412
    entries = await _entries(server, token, target_id=device_id)
    assert entries == []


async def test_a_failed_audit_write_rolls_the_change_back(server: LiveServer, token: str) -> None:
    """No change without its entry: an entry that cannot be written undoes the change."""
    [device] = await provision(server.client, token, batch="audit-rollback")
    broken = SystemActor(None, None, "admin")  # type: ignore[arg-type]  # NOT NULL violation
    with pytest.raises(asyncpg.NotNullViolationError):
        await devices_service.revoke(server.services.pool, device["device_id"], operator=broken)
    status = await server.services.pool.fetchval(
        "SELECT status FROM devices WHERE device_id = $1::uuid", device["device_id"]
    )
    assert status == "active"


async def test_a_rolled_back_transaction_leaves_no_entry(server: LiveServer, token: str) -> None:
    """No entry without its change."""
    pool = server.services.pool
    actor = SystemActor(None, "rollback-test", "admin")

    async def change_that_fails() -> None:
        async with pool.acquire() as conn, conn.transaction():
            await record_audit(conn, actor, "device.update", "device", "rolled-back")
            raise RuntimeError("the change failed after its entry was written")

    with pytest.raises(RuntimeError):
        await change_that_fails()
    assert await _entries(server, token, target_id="rolled-back") == []
    async with pool.acquire() as conn:
        with pytest.raises(RuntimeError):
            await record_audit(conn, actor, "device.update", "device", "no-transaction")


async def test_entries_cannot_be_changed_or_deleted(server: LiveServer, token: str) -> None:
    await provision(server.client, token, batch="audit-immutable")
    pool = server.services.pool
    for statement in (
        "UPDATE audit_entries SET actor_name = 'someone else'",
        "DELETE FROM audit_entries",
        "TRUNCATE audit_entries",
    ):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await pool.execute(statement)
    routes = [
        (method, path)
        for method, path in served_routes(server.app.api.routes)
        if path.startswith("/admin/v1/audit")
    ]
    assert routes == [("GET", "/admin/v1/audit")]


async def test_audit_pages_newest_first_with_a_cursor(server: LiveServer, token: str) -> None:
    for index in range(3):
        await provision(server.client, token, batch=f"audit-page-{index}")
    first = await server.client.get(
        "/admin/v1/audit", params={"action": "device.provision", "limit": 2}, headers=bearer(token)
    )
    page = first.json()
    assert len(page["entries"]) == 2
    assert page["next_cursor"]
    times = [e["at"] for e in page["entries"]]
    assert times == sorted(times, reverse=True)
    second = await server.client.get(
        "/admin/v1/audit",
        params={"action": "device.provision", "limit": 2, "cursor": page["next_cursor"]},
        headers=bearer(token),
    )
    ids = {e["audit_id"] for e in page["entries"]}
    assert ids.isdisjoint(e["audit_id"] for e in second.json()["entries"])
    bad = await server.client.get("/admin/v1/audit", params={"cursor": "x"}, headers=bearer(token))
    assert bad.status_code == 422


async def test_the_dashboard_shows_who_sent_commands_and_changed_settings(
    server: LiveServer, token: str
) -> None:
    from tests.integration.web.test_dashboard import signed_in

    operator = await admin_token(server.services, "night-shift", "operator")
    [device] = await provision(server.client, operator, batch="audit-by-whom")
    device_id = device["device_id"]
    await server.client.patch(
        f"/admin/v1/devices/{device_id}/settings",
        json={"reporting_interval_seconds": 900},
        headers=bearer(operator),
    )
    async with signed_in(server, token) as browser:
        page = await browser.get(f"/devices/{device_id}")
        assert "changed by night-shift" in page.text
        live = (await browser.get(f"/ui/devices/{device_id}.json")).json()
        [row] = live["tables"]["commands"]  # the config_update the change queued
        assert row["cells"][6]["text"] == "—"  # queued by the settings change, not sent
        await server.client.post(
            f"/admin/v1/devices/{device_id}/commands", json={"type": "reboot"},
            headers=bearer(operator),
        )  # fmt: skip
        live = (await browser.get(f"/ui/devices/{device_id}.json")).json()
        by = {r["cells"][0]["text"]: r["cells"][6]["text"] for r in live["tables"]["commands"]}
        assert by["reboot"] == "night-shift"


async def test_rule_update_defaults_and_alert_acknowledge_are_audited(
    server: LiveServer, token: str
) -> None:
    from tests.support.alerts import alerts_of, create_rule, wait_for
    from tests.support.telemetry import post_batch, reading

    [device] = await provision(server.client, token, batch="audit-alerts")
    rule = await create_rule(
        server.client, token, sensor_type="temperature", op=">", threshold=40,
        device_id=device["device_id"],
    )  # fmt: skip
    patched = await server.client.patch(
        f"/admin/v1/alert-rules/{rule['rule_id']}", json={"threshold": 45}, headers=bearer(token)
    )
    assert patched.status_code == 200, patched.text
    posted = await post_batch(server.client, device["api_key"], {"readings": [reading(value=60.0)]})
    assert posted.status_code in {200, 201, 202}, posted.text

    async def opened() -> list[dict[str, Any]]:
        return await alerts_of(
            server.client, token, rule_id=rule["rule_id"], device_id=device["device_id"]
        )

    [alert] = await wait_for(opened, timeout=20)
    for _ in range(2):  # the second acknowledge changes nothing and records nothing
        acked = await server.client.post(
            f"/admin/v1/alerts/{alert['alert_id']}/acknowledge", headers=bearer(token)
        )
        assert acked.status_code == 200, acked.text
    assert [e["action"] for e in await _entries(server, token, target_id=alert["alert_id"])] == [
        "alert.acknowledge"
    ]
    assert [e["action"] for e in await _entries(server, token, target_id=rule["rule_id"])] == [
        "rule.update",
        "rule.create",
    ]
    model = "AUDIT-DEFAULTS"
    put = await server.client.put(
        f"/admin/v1/models/{model}/settings-defaults",
        json={"reporting_interval_seconds": 600},
        headers=bearer(token),
    )
    assert put.status_code == 200, put.text
    deleted = await server.client.delete(
        f"/admin/v1/models/{model}/settings-defaults", headers=bearer(token)
    )
    assert deleted.status_code == 204
    assert [e["action"] for e in await _entries(server, token, target_id=model)] == [
        "settings_defaults.delete",
        "settings_defaults.update",
    ]


async def test_local_cli_changes_are_audited_as_the_local_cli(
    server: LiveServer, token: str, database_url: str, tmp_path: object
) -> None:
    import asyncio
    import json

    from click.testing import CliRunner

    from climasense.cli import cli
    from tests.conftest import TEST_SECRET

    runner = CliRunner(
        env={
            "CLIMASENSE_DATABASE_URL": database_url,
            "CLIMASENSE_SECRET_KEY": TEST_SECRET,
            "CLIMASENSE_DATA_DIR": str(tmp_path),
            "CLIMASENSE_URL": None,  # type: ignore[dict-item]  # unset: the local mode
        }
    )
    args = ["devices", "provision", "--kind", "standalone", "--model", "LOCAL-1",
            "--batch", "audit-local-cli", "--json"]  # fmt: skip
    result = await asyncio.to_thread(runner.invoke, cli, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["devices"]
    [entry] = await _entries(server, token, target_id="audit-local-cli")
    assert entry["action"] == "device.provision"
    assert entry["actor"] == {"token_id": None, "name": "local cli", "role": "admin"}
