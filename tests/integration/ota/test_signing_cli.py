"""`climasense firmware keygen|sign|upload --key` and `simulate --firmware-public-key`."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import stat
from pathlib import Path

from click.testing import CliRunner

from climasense.cli import cli
from climasense.ota import signing
from tests.conftest import TEST_SECRET
from tests.integration.ota.conftest import ota_settings
from tests.integration.ota.helpers import new_model, release
from tests.support.factories import admin_token, bearer
from tests.support.server import live_server


def run(env: dict[str, str], *args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def test_keygen_writes_the_key_pair_with_safe_modes(tmp_path: Path) -> None:
    code, out, err = run({}, "firmware", "keygen", "--out", str(tmp_path / "k"), "--json")
    assert code == 0, err
    made = json.loads(out)
    private, public = tmp_path / "k" / "signing.key", tmp_path / "k" / "signing.pub"
    assert stat.S_IMODE(private.stat().st_mode) == 0o600
    assert stat.S_IMODE(public.stat().st_mode) & 0o077 in (0, 0o044)  # public: readable is fine
    raw = base64.b64decode(public.read_text().strip(), validate=True)
    assert len(raw) == 32
    assert made["public_key"] == public.read_text().strip()
    assert made["signing_key_id"] == hashlib.sha256(raw).hexdigest()[:16]

    # A second keygen into the same folder never replaces the key.
    before = private.read_bytes()
    code, _, err = run({}, "firmware", "keygen", "--out", str(tmp_path / "k"))
    assert code == 1
    assert "already exists" in err
    assert private.read_bytes() == before


def test_sign_prints_a_signature_over_the_contracts_manifest(tmp_path: Path) -> None:
    assert run({}, "firmware", "keygen", "--out", str(tmp_path))[0] == 0
    image = tmp_path / "fw.bin"
    data = os.urandom(1_500_000)
    image.write_bytes(data)
    code, out, err = run(
        {}, "firmware", "sign", str(image), "--key", str(tmp_path / "signing.key"),
        "--model", "CS-100", "--version", "1.3.0",
    )  # fmt: skip
    assert code == 0, err
    printed = json.loads(out)
    assert set(printed) == {"signature", "signing_key_id"}
    public = signing.load_public_key(tmp_path / "signing.pub")
    assert printed["signing_key_id"] == signing.key_id(public)
    manifest = (
        f"climasense-firmware-v1\nCS-100\n1.3.0\n{hashlib.sha256(data).hexdigest()}\n{len(data)}"
    ).encode()
    assert signing.verify(public, manifest, base64.b64decode(printed["signature"]))

    (tmp_path / "bad.key").write_text("not a key")
    code, _, err = run(
        {}, "firmware", "sign", str(image), "--key", str(tmp_path / "bad.key"),
        "--model", "CS-100", "--version", "1.3.0",
    )  # fmt: skip
    assert code == 1
    assert "not an unencrypted PEM" in err


async def test_upload_with_a_key_signs_and_uploads(database_url: str, tmp_path: Path) -> None:
    keys, other = tmp_path / "keys", tmp_path / "other"
    assert run({}, "firmware", "keygen", "--out", str(keys))[0] == 0
    assert run({}, "firmware", "keygen", "--out", str(other))[0] == 0
    image = tmp_path / "fw.bin"
    image.write_bytes(os.urandom(300_000))
    blobs = tmp_path / "blobs"
    env = {
        "CLIMASENSE_DATABASE_URL": database_url,
        "CLIMASENSE_SECRET_KEY": TEST_SECRET,
        "CLIMASENSE_DATA_DIR": str(tmp_path),
        "CLIMASENSE_BLOB_URL": blobs.as_uri(),
        "CLIMASENSE_FIRMWARE_PUBLIC_KEYS": (keys / "signing.pub").read_text().strip(),
        "CLIMASENSE_FIRMWARE_REQUIRE_SIGNATURE": "true",
    }
    model = new_model()

    def upload(*extra: str) -> tuple[int, str, str]:
        return run(
            env, "firmware", "upload", "--model", model, "--version", "1.0.0",
            "--file", str(image), "--json", *extra,
        )  # fmt: skip

    # The CLI runs its own event loop: keep it off this test's loop.
    code, _, err = await asyncio.to_thread(upload)
    assert code == 1
    assert "signature_required" in err
    code, _, err = await asyncio.to_thread(upload, "--key", str(other / "signing.key"))
    assert code == 1
    assert "invalid_signature" in err
    assert list(blobs.glob("*.bin")) == []

    code, out, err = await asyncio.to_thread(upload, "--key", str(keys / "signing.key"))
    assert code == 0, err
    stored = json.loads(out)
    assert stored["signing_key_id"] == signing.key_id(signing.load_public_key(keys / "signing.pub"))


def test_simulate_refuses_an_unusable_public_key_file(tmp_path: Path) -> None:
    (tmp_path / "bad.pub").write_text("nope")
    code, _, err = run(
        {}, "simulate", "--keys", str(tmp_path / "bad.pub"),
        "--firmware-public-key", str(tmp_path / "bad.pub"),
    )  # fmt: skip
    assert code == 2
    assert "--firmware-public-key" in err


async def test_simulate_with_a_public_key_refuses_a_tampered_image(
    database_url: str, tmp_path: Path
) -> None:
    keys = tmp_path / "keys"
    assert run({}, "firmware", "keygen", "--out", str(keys))[0] == 0
    public_text = (keys / "signing.pub").read_text().strip()
    settings = ota_settings(
        database_url,
        tmp_path,
        blob_url=(tmp_path / "blobs").as_uri(),
        firmware_public_keys=(public_text,),
    )
    model, data = new_model(), os.urandom(100_000)
    image = tmp_path / "fw.bin"
    image.write_bytes(data)
    code, out, err = run(
        {}, "firmware", "sign", str(image), "--key", str(keys / "signing.key"),
        "--model", model, "--version", "1.2.0",
    )  # fmt: skip
    assert code == 0, err
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        response = await server.client.put(
            f"/admin/v1/firmware/{model}/1.2.0",
            content=data,
            params={"signature": json.loads(out)["signature"]},
            headers={**bearer(token), "Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 201, response.text
        await release(server.client, token, model, "1.2.0", ["sim-signed"])
        # The object in the store is replaced by one of the same size after the upload.
        [blob] = list((tmp_path / "blobs").glob("*.bin"))
        blob.write_bytes(bytes(b ^ 0x5A for b in data))

        code, out, err = await asyncio.to_thread(
            run, {}, "simulate", "--url", server.url, "--token", token, "--devices", "1",
            "--model", model, "--batch", "sim-signed", "--ota-check", "6", "--interval", "60",
            "--command-poll", "60", "--duration", "7.5",
            "--firmware-public-key", str(keys / "signing.pub"), "--json",
        )  # fmt: skip
        assert code == 0, err
        summary = json.loads(out)
        assert (summary["ota_failed"], summary["ota_completed"]) == (1, 0)
        row = await server.services.pool.fetchrow(
            """SELECT r.status, r.error_message FROM ota_status_reports r
               JOIN devices d ON d.device_id = r.device_id
               WHERE d.model = $1 ORDER BY r.report_id DESC LIMIT 1""",
            model,
        )
        assert row["status"] == "failed"
        assert "signature" in row["error_message"]
