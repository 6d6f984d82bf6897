"""Ed25519 firmware signatures (CONTRACT §12): the manifest, key ids, keys on disk, verification.

What is signed is not the image but a short manifest naming it, so a signature binds the bytes
(their sha256 and size) to one model and one version:

    climasense-firmware-v1\\n<model>\\n<version>\\n<sha256 hex of the image>\\n<size in bytes>

The private key stays with the fleet owner (`climasense firmware keygen` / `sign`); the server
and the devices hold only public keys. A public key travels as the base64 of its 32 raw bytes;
its id is the first 16 hex digits of the SHA-256 of those bytes. A signature is the base64 of
its 64 raw bytes.

On disk, `signing.key` is the private key as unencrypted PEM PKCS#8 (`-----BEGIN PRIVATE
KEY-----`), readable by OpenSSL and every other Ed25519 tool; `signing.pub` is one line, the
base64 public key. Nothing here touches the database, the network or the settings.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

MANIFEST_HEADER = "climasense-firmware-v1"
PRIVATE_KEY_FILE = "signing.key"
PUBLIC_KEY_FILE = "signing.pub"
PUBLIC_KEY_BYTES = 32
SIGNATURE_BYTES = 64
_CHUNK = 1024 * 1024


class SigningError(ValueError):
    """A key, a signature or a key file that cannot be used (malformed, wrong size, unreadable)."""


def manifest(model: str, version: str, sha256_hex: str, size: int) -> bytes:
    """The exact bytes a firmware signature covers."""
    return f"{MANIFEST_HEADER}\n{model}\n{version}\n{sha256_hex}\n{size}".encode()


def raw_public_key(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def key_id(key: Ed25519PublicKey | bytes) -> str:
    """First 16 hex digits of the SHA-256 of the raw 32-byte public key."""
    raw = key if isinstance(key, bytes) else raw_public_key(key)
    return hashlib.sha256(raw).hexdigest()[:16]


def public_key_text(key: Ed25519PublicKey) -> str:
    return base64.b64encode(raw_public_key(key)).decode()


def _b64(text: str, what: str, size: int) -> bytes:
    # A '+' sent unencoded in a query string arrives as a space; base64 never has spaces.
    cleaned = text.replace(" ", "+").strip()
    try:
        raw = base64.b64decode(cleaned, validate=True)
    except (binascii.Error, ValueError):
        raise SigningError(f"{what} is not valid base64") from None
    if len(raw) != size:
        raise SigningError(f"{what} must be {size} bytes, got {len(raw)}")
    return raw


def parse_public_key(text: str) -> Ed25519PublicKey:
    """A public key from the base64 of its 32 raw bytes."""
    return Ed25519PublicKey.from_public_bytes(_b64(text, "public key", PUBLIC_KEY_BYTES))


def decode_signature(text: str) -> bytes:
    """A signature's 64 raw bytes from its base64."""
    return _b64(text, "signature", SIGNATURE_BYTES)


def encode_signature(signature: bytes) -> str:
    return base64.b64encode(signature).decode()


@dataclass(frozen=True)
class TrustedKeys:
    """The public keys a signature may verify against, by key id (several during a rotation)."""

    keys: dict[str, Ed25519PublicKey]

    @classmethod
    def parse(cls, texts: Iterable[str]) -> TrustedKeys:
        """From base64 public keys; raises SigningError naming the first bad one."""
        keys: dict[str, Ed25519PublicKey] = {}
        for position, text in enumerate(texts, start=1):
            try:
                key = parse_public_key(text)
            except SigningError as exc:
                raise SigningError(f"trusted key #{position}: {exc}") from None
            keys[key_id(key)] = key
        return cls(keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    def verify(self, message: bytes, signature: bytes) -> str | None:
        """The id of the trusted key that signed `message`, or None if none did."""
        for kid, key in self.keys.items():
            if verify(key, message, signature):
                return kid
        return None


def verify(key: Ed25519PublicKey, message: bytes, signature: bytes) -> bool:
    try:
        key.verify(signature, message)
    except InvalidSignature:
        return False
    return True


# -- keys on disk (the CLI and the simulator) ---------------------------------------------------


def generate(out: Path) -> tuple[Path, Path, str]:
    """Write a new key pair into `out`: `signing.key` (mode 0600) and `signing.pub`.

    Refuses to overwrite an existing key. Returns both paths and the key id.
    """
    out.mkdir(parents=True, exist_ok=True)
    private_path, public_path = out / PRIVATE_KEY_FILE, out / PUBLIC_KEY_FILE
    for path in (private_path, public_path):
        if path.exists():
            raise SigningError(f"{path} already exists; not overwriting a key")
    private = Ed25519PrivateKey.generate()
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    # Created 0600 from the start (O_EXCL), never briefly readable by others.
    fd = os.open(private_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(pem)
    os.chmod(private_path, 0o600)  # whatever the umask did
    public = private.public_key()
    fd = os.open(public_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    with os.fdopen(fd, "w") as handle:
        handle.write(public_key_text(public) + "\n")
    return private_path, public_path, key_id(public)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM PKCS#8 (what `keygen` writes)."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"cannot read {path}: {exc.strerror or exc}") from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise SigningError(f"{path} is not an unencrypted PEM private key: {exc}") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise SigningError(f"{path} is not an Ed25519 key")
    return key


def load_public_key(path: Path) -> Ed25519PublicKey:
    """A public key file: the base64 of the 32 raw bytes (what `keygen` writes)."""
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise SigningError(f"cannot read {path}: {exc}") from None
    try:
        return parse_public_key(text)
    except SigningError as exc:
        raise SigningError(f"{path}: {exc}") from None


def file_digest(path: Path) -> tuple[str, int]:
    """sha256 hex and size of a file, read in chunks."""
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@dataclass(frozen=True)
class Signed:
    signature: str  # base64
    signing_key_id: str

    def as_dict(self) -> dict[str, str]:
        return {"signature": self.signature, "signing_key_id": self.signing_key_id}


def sign_manifest(key: Ed25519PrivateKey, message: bytes) -> Signed:
    return Signed(encode_signature(key.sign(message)), key_id(key.public_key()))


def sign_image(key: Ed25519PrivateKey, image: Path, *, model: str, version: str) -> Signed:
    sha256_hex, size = file_digest(image)
    return sign_manifest(key, manifest(model, version, sha256_hex, size))
