"""The update check's typed answer becomes the contract's body at the device route."""

from __future__ import annotations

from datetime import UTC, datetime

from climasense.http.responses import dumps
from climasense.ota.device import UpdateCheck
from climasense.ota.repository import FirmwareImage


def image(**changes: object) -> FirmwareImage:
    fields: dict[str, object] = {
        "model": "T-1",
        "version": "1.2.0",
        "sha256": "ab" * 32,
        "size_bytes": 1024,
        "release_notes": None,
        "created_at": datetime(2026, 11, 30, tzinfo=UTC),
        "blob_key": "firmware/T-1/1.2.0",
        "signature": None,
        "signing_key_id": None,
    }
    fields.update(changes)
    return FirmwareImage(**fields)  # type: ignore[arg-type]


def test_nothing_newer_is_only_update_available_false() -> None:
    assert dumps(UpdateCheck(offer=None).to_json()) == b'{"update_available":false}'


def test_unsigned_offer_has_no_signature_members() -> None:
    assert dumps(UpdateCheck(offer=image()).to_json()) == (
        b'{"update_available":true,"version":"1.2.0","checksum":"sha256:' + b"ab" * 32 + b'",'
        b'"size_bytes":1024,"release_notes":""}'
    )


def test_signed_offer_names_its_signature_and_key() -> None:
    answer = UpdateCheck(
        offer=image(release_notes="fixes", signature="c2ln", signing_key_id="k1")
    ).to_json()
    assert list(answer) == [
        "update_available",
        "version",
        "checksum",
        "size_bytes",
        "release_notes",
        "signature",
        "signing_key_id",
    ]
    assert (answer["release_notes"], answer["signature"], answer["signing_key_id"]) == (
        "fixes",
        "c2ln",
        "k1",
    )
