"""`climasense firmware upload|release`, then a device downloads what the CLI stored."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
from pathlib import Path

from click.testing import CliRunner

from climasense.cli import cli
from tests.conftest import TEST_SECRET
from tests.integration.ota.conftest import ota_settings
from tests.integration.ota.helpers import check, device_keys, new_model
from tests.support.factories import admin_token, bearer
from tests.support.server import live_server


async def test_upload_and_release_from_the_cli(database_url: str, tmp_path: Path) -> None:
    blobs = tmp_path / "blobs"
    image = tmp_path / "fw.bin"
    data = os.urandom(2_500_000)
    image.write_bytes(data)
    model = new_model()
    env = {
        "CLIMASENSE_DATABASE_URL": database_url,
        "CLIMASENSE_SECRET_KEY": TEST_SECRET,
        "CLIMASENSE_DATA_DIR": str(tmp_path),
        "CLIMASENSE_BLOB_URL": blobs.as_uri(),
    }

    def run(*args: str) -> tuple[int, str, str]:
        result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
        return result.exit_code, result.stdout, result.stderr

    # The CLI runs its own event loop: keep it off this test's loop.
    code, out, _ = await asyncio.to_thread(
        run, "firmware", "upload", "--model", model, "--version", "2.0.0",
        "--file", str(image), "--notes", "From the CLI", "--json",
    )  # fmt: skip
    assert code == 0, out
    stored = json.loads(out)
    assert stored["checksum"] == "sha256:" + hashlib.sha256(data).hexdigest()
    assert stored["size_bytes"] == len(data)

    code, _, err = await asyncio.to_thread(
        run, "firmware", "upload", "--model", model, "--version", "2.0.0", "--file", str(image)
    )
    assert code == 1
    assert "firmware_exists" in err

    code, out, _ = await asyncio.to_thread(
        run, "firmware", "release", "--model", model, "--version", "2.0.0",
        "--batches", "a, b", "--threshold", "10", "--json",
    )  # fmt: skip
    assert code == 0, out
    created = json.loads(out)
    assert (created["batches"], created["failure_threshold_percent"]) == (["a", "b"], 10)

    settings = ota_settings(database_url, tmp_path, blob_url=blobs.as_uri(), run_worker=False)
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        [key] = await device_keys(server.client, token, model, "b")
        assert (await check(server.client, key, "1.0.0"))["version"] == "2.0.0"
        response = await server.client.get("/v1/ota/download/2.0.0", headers=bearer(key))
        assert response.content == data
