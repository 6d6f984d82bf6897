"""A client generated from the served `/openapi.json` with openapi-python-client works against
the server: its typed error model parses the server's 404 and 422 bodies (docs/api.md,
"Generating a client")."""

from __future__ import annotations

import asyncio
import importlib
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.server import LiveServer

PACKAGE = "climasense_client"
GENERATE_TIMEOUT = 120


async def generate_client(spec: Path, output: Path) -> None:
    config = output.parent / "client-config.yaml"
    # No post hooks: the generator would run ruff over its output, not needed to import it.
    config.write_text(f"package_name_override: {PACKAGE}\npost_hooks: []\n")
    generator = Path(sys.executable).parent / "openapi-python-client"
    process = await asyncio.create_subprocess_exec(
        *(str(generator), "generate", "--path", str(spec), "--config", str(config)),
        *("--meta", "none", "--output-path", str(output), "--fail-on-warning"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        env={**os.environ, "NO_COLOR": "1"},
    )
    out, _ = await asyncio.wait_for(process.communicate(), GENERATE_TIMEOUT)
    assert process.returncode == 0, out.decode(errors="replace")


@pytest.fixture
def client_modules(tmp_path: Path) -> Iterator[Path]:
    sys.path.insert(0, str(tmp_path))
    try:
        yield tmp_path
    finally:
        sys.path.remove(str(tmp_path))
        for name in [n for n in sys.modules if n == PACKAGE or n.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def load(name: str) -> ModuleType:
    return importlib.import_module(f"{PACKAGE}.{name}")


async def test_generated_client_parses_404_and_422_into_the_error_model(
    server: LiveServer, token: str, client_modules: Path
) -> None:
    spec = client_modules / "openapi.json"
    spec.write_bytes((await server.client.get("/openapi.json")).content)
    await generate_client(spec, client_modules / PACKAGE)

    client_module = load("client")
    error_model = load("models.error").Error
    get_device = load("api.devices.get_device")
    list_devices = load("api.devices.list_devices")
    client = client_module.AuthenticatedClient(base_url=server.url, token=token)
    async with client:
        missing = await get_device.asyncio_detailed(
            "00000000-0000-4000-8000-000000000000", client=client
        )
        invalid = await list_devices.asyncio_detailed(client=client, limit=0)
        listed = await list_devices.asyncio_detailed(client=client, limit=5)

    assert missing.status_code == 404
    assert isinstance(missing.parsed, error_model)
    assert missing.parsed.error == "not_found"
    assert invalid.status_code == 422
    assert isinstance(invalid.parsed, error_model)
    assert invalid.parsed.error == "validation_error"
    assert [d.field for d in invalid.parsed.details] == ["limit"]
    # A success parses into its typed model too (the session database is shared: any devices).
    assert listed.status_code == 200
    assert isinstance(listed.parsed, load("models.device_list").DeviceList)
    summary = load("models.device_summary").DeviceSummary
    assert all(isinstance(device, summary) for device in listed.parsed.devices)
