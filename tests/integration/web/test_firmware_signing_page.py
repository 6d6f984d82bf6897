"""The dashboard's firmware page: signed (with the key id) or unsigned, and a signed upload."""

from __future__ import annotations

import hashlib
import re
import secrets
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from climasense.ota import signing
from tests.conftest import make_settings
from tests.integration.web.test_dashboard import _csrf, signed_in
from tests.support.factories import admin_token, bearer
from tests.support.server import live_server

KEY = Ed25519PrivateKey.from_private_bytes(bytes([5]) * 32)


def _row(html: str, model: str, version: str) -> str:
    found = re.search(rf"<tr><td>{model}</td><td>{re.escape(version)}</td>.*?</tr>", html)
    assert found, f"no row for {model} {version}"
    return found.group(0)


async def test_the_firmware_page_shows_which_images_are_signed_and_by_which_key(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url, tmp_path, firmware_public_keys=(signing.public_key_text(KEY.public_key()),)
    )
    model, image = f"WEB-{secrets.token_hex(4)}", b"signed image" * 50
    message = signing.manifest(model, "2.0.0", hashlib.sha256(image).hexdigest(), len(image))
    signature = signing.sign_manifest(KEY, message).signature
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        unsigned = await server.client.put(
            f"/admin/v1/firmware/{model}/1.0.0",
            content=b"unsigned image",
            headers={**bearer(token), "Content-Type": "application/octet-stream"},
        )
        assert unsigned.status_code == 201
        async with signed_in(server, token) as client:
            page = await client.get("/firmware")
            # Uploaded through the dashboard's form, with the signature `firmware sign` printed.
            uploaded = await client.post(
                "/firmware",
                data={
                    "csrf_token": _csrf(page.text),
                    "model": model,
                    "version": "2.0.0",
                    "signature": signature,
                },
                files={"image": ("fw.bin", image, "application/octet-stream")},
            )
            assert uploaded.status_code == 303, uploaded.text
            page = await client.get("/firmware")
            signed_row = _row(page.text, model, "2.0.0")
            assert 'class="badge signed"' in signed_row
            assert signing.key_id(KEY.public_key()) in signed_row
            assert 'class="badge unsigned"' in _row(page.text, model, "1.0.0")

            # A bad signature is refused and the operator told why.
            refused = await client.post(
                "/firmware",
                data={
                    "csrf_token": _csrf(page.text),
                    "model": model,
                    "version": "3.0.0",
                    "signature": signature,
                },
                files={"image": ("fw.bin", image, "application/octet-stream")},
                follow_redirects=True,
            )
            assert "signature does not verify" in refused.text
            assert f"<td>{model}</td><td>3.0.0</td>" not in refused.text
