"""The operator endpoints of settings and commands are documented in `/openapi.json`."""

from __future__ import annotations

from tests.support.server import LiveServer


async def test_operator_settings_and_commands_are_documented(server: LiveServer) -> None:
    spec = (await server.client.get("/openapi.json")).json()
    paths = spec["paths"]
    settings = paths["/admin/v1/devices/{device_id}/settings"]
    assert set(settings) >= {"get", "patch"}
    assert set(settings["patch"]["requestBody"]["content"]) == {
        "application/json",
        "application/merge-patch+json",
    }
    commands = paths["/admin/v1/devices/{device_id}/commands"]
    assert "201" in commands["post"]["responses"]
    assert "get" in commands
    assert "post" in paths["/admin/v1/commands/{command_id}/cancel"]
    assert set(paths["/admin/v1/models/{model}/settings-defaults"]) == {"get", "put", "delete"}
    # The device side is the contract's, served as written.
    assert set(paths["/v1/settings"]) == {"get", "patch"}
    assert "CommandView" in spec["components"]["schemas"]
