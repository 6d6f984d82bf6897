"""ota/signing.py: the contract's manifest bytes, key ids, sign/verify, parsing, keys on disk."""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from climasense.errors import ConfigurationError
from climasense.ota import signing
from climasense.runtime import check_firmware_keys
from climasense.settings import Settings

# RFC 8032 §7.1, TEST 1: a published Ed25519 key pair, so the vector below is not one this
# code made up for itself.
RFC_SECRET = bytes.fromhex("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60")
RFC_PUBLIC = bytes.fromhex("d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a")
IMAGE_SHA256 = hashlib.sha256(b"climasense test image").hexdigest()


def rfc_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(RFC_SECRET)


def test_manifest_is_the_contracts_bytes() -> None:
    assert signing.manifest("CS-100", "1.3.0", IMAGE_SHA256, 1_048_576) == (
        b"climasense-firmware-v1\nCS-100\n1.3.0\n" + IMAGE_SHA256.encode() + b"\n1048576"
    )
    # No trailing newline, UTF-8, build metadata kept as given.
    assert signing.manifest("m", "1.0.0+b.7", "ab", 1).endswith(b"\nm\n1.0.0+b.7\nab\n1")


def test_key_id_is_the_first_16_hex_of_the_raw_keys_sha256() -> None:
    public = rfc_key().public_key()
    assert signing.raw_public_key(public) == RFC_PUBLIC
    assert signing.key_id(public) == hashlib.sha256(RFC_PUBLIC).hexdigest()[:16]
    assert signing.key_id(RFC_PUBLIC) == signing.key_id(public)
    assert signing.public_key_text(public) == base64.b64encode(RFC_PUBLIC).decode()


def test_a_fixed_vector_signs_and_verifies() -> None:
    message = signing.manifest("CS-100", "1.3.0", IMAGE_SHA256, 1_048_576)
    signed = signing.sign_manifest(rfc_key(), message)
    # Ed25519 is deterministic: the same key and manifest give the same signature everywhere.
    assert signed == signing.sign_manifest(rfc_key(), message)
    assert signed.signing_key_id == hashlib.sha256(RFC_PUBLIC).hexdigest()[:16]
    raw = base64.b64decode(signed.signature)
    assert len(raw) == 64
    public = signing.parse_public_key(base64.b64encode(RFC_PUBLIC).decode())
    assert signing.verify(public, message, raw)
    # Any other model, version, hash or size is another manifest.
    for other in (
        signing.manifest("CS-101", "1.3.0", IMAGE_SHA256, 1_048_576),
        signing.manifest("CS-100", "1.3.1", IMAGE_SHA256, 1_048_576),
        signing.manifest("CS-100", "1.3.0", hashlib.sha256(b"other").hexdigest(), 1_048_576),
        signing.manifest("CS-100", "1.3.0", IMAGE_SHA256, 1_048_577),
    ):
        assert not signing.verify(public, other, raw)


def test_trusted_keys_name_the_key_that_signed() -> None:
    first, second, stranger = (
        Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32) for n in (1, 2, 3)
    )
    trusted = signing.TrustedKeys.parse(
        [signing.public_key_text(k.public_key()) for k in (first, second)]
    )
    message = signing.manifest("m", "1.0.0", IMAGE_SHA256, 10)
    assert trusted.verify(message, second.sign(message)) == signing.key_id(second.public_key())
    assert trusted.verify(message, first.sign(message)) == signing.key_id(first.public_key())
    assert trusted.verify(message, stranger.sign(message)) is None
    assert not signing.TrustedKeys.parse([])


@pytest.mark.parametrize(
    "text",
    ["", "not base64!", base64.b64encode(b"x" * 63).decode(), base64.b64encode(b"x" * 65).decode()],
)
def test_malformed_signatures_are_refused(text: str) -> None:
    with pytest.raises(signing.SigningError, match="signature"):
        signing.decode_signature(text)


def test_a_plus_that_arrived_as_a_space_is_still_base64() -> None:
    raw = bytes([0xFB]) * 64  # encodes with '+' and '/'
    text = base64.b64encode(raw).decode()
    assert "+" in text
    assert signing.decode_signature(text.replace("+", " ")) == raw


@pytest.mark.parametrize("text", ["", "abc", base64.b64encode(b"k" * 31).decode()])
def test_malformed_public_keys_are_refused(text: str) -> None:
    with pytest.raises(signing.SigningError, match="public key"):
        signing.parse_public_key(text)


def test_settings_read_and_check_the_trusted_keys() -> None:
    one, two = (
        signing.public_key_text(Ed25519PrivateKey.from_private_bytes(bytes([n]) * 32).public_key())
        for n in (1, 2)
    )
    settings = Settings.from_env(
        {
            "CLIMASENSE_FIRMWARE_PUBLIC_KEYS": f" {one} , {two},",
            "CLIMASENSE_FIRMWARE_REQUIRE_SIGNATURE": "true",
        },
        load_dotenv=False,
    )
    assert settings.firmware_public_keys == (one, two)
    assert settings.firmware_require_signature
    defaults = Settings.from_env({}, load_dotenv=False)
    assert (defaults.firmware_public_keys, defaults.firmware_require_signature) == ((), False)
    # Checked when the server starts (the composition root), before any upload.
    with pytest.raises(ConfigurationError, match="CLIMASENSE_FIRMWARE_PUBLIC_KEYS: trusted key #2"):
        check_firmware_keys(
            Settings.from_env(
                {"CLIMASENSE_FIRMWARE_PUBLIC_KEYS": f"{one},not-a-key"}, load_dotenv=False
            ).firmware_public_keys
        )


def test_generate_writes_a_private_key_only_its_owner_can_read(tmp_path: Path) -> None:
    private_path, public_path, kid = signing.generate(tmp_path / "keys")
    assert stat.S_IMODE(private_path.stat().st_mode) == 0o600
    assert private_path.read_bytes().startswith(b"-----BEGIN PRIVATE KEY-----")
    public = signing.load_public_key(public_path)
    assert signing.key_id(public) == kid
    private = signing.load_private_key(private_path)
    assert signing.raw_public_key(private.public_key()) == signing.raw_public_key(public)
    with pytest.raises(signing.SigningError, match="already exists"):
        signing.generate(tmp_path / "keys")


def test_sign_image_covers_the_files_bytes(tmp_path: Path) -> None:
    image = tmp_path / "fw.bin"
    image.write_bytes(b"\x00\x01" * 700_000)  # more than one read chunk
    signed = signing.sign_image(rfc_key(), image, model="CS-100", version="2.0.0")
    message = signing.manifest(
        "CS-100", "2.0.0", hashlib.sha256(image.read_bytes()).hexdigest(), 1_400_000
    )
    assert signing.verify(rfc_key().public_key(), message, base64.b64decode(signed.signature))


def test_unusable_key_files(tmp_path: Path) -> None:
    (tmp_path / "bad.key").write_text("nonsense")
    with pytest.raises(signing.SigningError, match="not an unencrypted PEM"):
        signing.load_private_key(tmp_path / "bad.key")
    with pytest.raises(signing.SigningError, match="cannot read"):
        signing.load_private_key(tmp_path / "missing.key")
    (tmp_path / "bad.pub").write_text("abc\n")
    with pytest.raises(signing.SigningError, match=r"bad\.pub"):
        signing.load_public_key(tmp_path / "bad.pub")
