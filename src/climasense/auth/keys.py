"""API key format: `<prefix>_<43 base62 chars of a 256-bit secret><6 base62 chars of CRC-32>`.

The prefix says what the key is for (`csd` device or hub, `csz` Zigbee sensor, `csa` operator
token); the checksum lets a malformed or mistyped key be refused without touching the database.
Keys are stored only as HMAC-SHA-256 under the server secret: a fast keyed hash is right for
256-bit random secrets (a slow password hash would only cost every request).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import zlib
from enum import StrEnum

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SECRET_BYTES = 32
_SECRET_CHARS = 43  # ceil(256 / log2(62))
_CHECK_CHARS = 6  # ceil(32 / log2(62))
_BODY_CHARS = _SECRET_CHARS + _CHECK_CHARS
_ALPHABET_SET = frozenset(_ALPHABET)


class KeyKind(StrEnum):
    DEVICE = "csd"
    SENSOR = "csz"
    ADMIN = "csa"


def _base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rem = divmod(number, 62)
        chars.append(_ALPHABET[rem])
    if number:
        raise ValueError("number does not fit the width")
    return "".join(reversed(chars))


def _checksum(prefix: str, secret: str) -> str:
    return _base62(zlib.crc32(f"{prefix}_{secret}".encode()), _CHECK_CHARS)


def generate_key(kind: KeyKind) -> str:
    secret = _base62(int.from_bytes(secrets.token_bytes(_SECRET_BYTES), "big"), _SECRET_CHARS)
    return f"{kind.value}_{secret}{_checksum(kind.value, secret)}"


def parse_key(key: str) -> KeyKind | None:
    """The key's kind if it is well formed (prefix, length, alphabet, checksum), else None."""
    if len(key) != 4 + _BODY_CHARS or key[3] != "_":
        return None
    try:
        kind = KeyKind(key[:3])
    except ValueError:
        return None
    body = key[4:]
    if not _ALPHABET_SET.issuperset(body):
        return None
    secret, check = body[:_SECRET_CHARS], body[_SECRET_CHARS:]
    if not hmac.compare_digest(check, _checksum(kind.value, secret)):
        return None
    return kind


class KeyHasher:
    """HMAC-SHA-256 of keys under the server secret (what the database stores)."""

    __slots__ = ("_secret",)

    def __init__(self, server_secret: str) -> None:
        self._secret = server_secret.encode()

    def hash(self, key: str) -> bytes:
        return hmac.new(self._secret, key.encode(), hashlib.sha256).digest()
