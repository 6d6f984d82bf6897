"""Firmware images: uploaded once per (model, version), streamed into the blob store."""

from __future__ import annotations

import contextlib
import functools
import re
import uuid
from collections.abc import AsyncIterable, AsyncIterator

import asyncpg

from climasense.audit import Actor, record_audit
from climasense.blobstore import BlobStore, BlobStoreError
from climasense.errors import Conflict, NotFound, Unavailable, ValidationFailed
from climasense.http.protocol_errors import PayloadTooLarge
from climasense.ota import repository, signing, versions
from climasense.ota.repository import FirmwareImage

_MODEL = re.compile(r"\A[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")  # \Z: "CS-100\n" is not one
MAX_NOTES = 10_000


@functools.lru_cache(maxsize=8)
def trusted_keys(public_keys: tuple[str, ...]) -> signing.TrustedKeys:
    """The settings' trusted keys, parsed once (Settings.from_env already refused bad ones)."""
    return signing.TrustedKeys.parse(public_keys)


def _invalid_signature(message: str) -> ValidationFailed:
    return ValidationFailed(
        message,
        code="invalid_signature",
        details=[{"field": "signature", "message": message}],
    )


def _signature_bytes(
    signature: str | None, trusted: signing.TrustedKeys, *, required: bool
) -> bytes | None:
    """The decoded signature, checked before any byte of the image is read."""
    if signature is None:
        if required:
            raise ValidationFailed(
                "This server accepts only signed firmware: sign the image "
                "(climasense firmware sign) and pass the signature",
                code="signature_required",
                details=[{"field": "signature", "message": "required"}],
            )
        return None
    try:
        raw = signing.decode_signature(signature)
    except signing.SigningError as exc:
        raise _invalid_signature(f"The signature is malformed: {exc}") from None
    if not trusted:
        raise _invalid_signature("No firmware signing key is trusted by this server")
    return raw


def check_model(model: str) -> str:
    if not _MODEL.match(model):
        message = "must be 1-100 letters, digits, '.', '_' or '-'"
        raise ValidationFailed(f"model {message}", details=[{"field": "model", "message": message}])
    return model


async def _limited(chunks: AsyncIterable[bytes], limit: int) -> AsyncIterator[bytes]:
    size = 0
    async for chunk in chunks:
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"Firmware image exceeds {limit} bytes")
        yield chunk


async def upload(
    pool: asyncpg.Pool,
    store: BlobStore,
    *,
    model: str,
    version: str,
    chunks: AsyncIterable[bytes],
    release_notes: str | None,
    max_bytes: int,
    operator: Actor,
    signature: str | None = None,
    trusted: signing.TrustedKeys | None = None,
    require_signature: bool = False,
) -> FirmwareImage:
    """Stream an image into the store and record it; 409 if the version exists for the model.

    A `signature` (base64 Ed25519, CONTRACT §12) must verify against one of the `trusted` keys
    over the manifest of the bytes actually stored, else 422 `invalid_signature` and nothing is
    kept; without one, `require_signature` makes it 422 `signature_required`.
    """
    check_model(model)
    parsed = versions.require(version, "version")
    precedence = versions.precedence(parsed)
    if release_notes is not None and len(release_notes) > MAX_NOTES:
        raise ValidationFailed(
            "release_notes is too long",
            details=[{"field": "release_notes", "message": f"at most {MAX_NOTES} characters"}],
        )
    trusted = trusted if trusted is not None else signing.TrustedKeys({})
    signature_bytes = _signature_bytes(signature, trusted, required=require_signature)
    # Checked first so the common mistake fails before a large body is sent; the unique key in
    # the INSERT below is what decides a race between two uploads.
    if await repository.firmware_exists(pool, model, precedence):
        raise _exists(model, version)
    # Each upload writes its own object, so a losing racer never overwrites the winner's bytes.
    blob_key = f"{uuid.uuid4().hex}.bin"
    try:
        stored = await store.put(blob_key, _limited(chunks, max_bytes))
    except BlobStoreError as exc:
        raise Unavailable("The firmware store is unavailable; nothing was stored") from exc
    try:
        if stored.size == 0:
            raise ValidationFailed(
                "The firmware image is empty",
                details=[{"field": "body", "message": "must not be empty"}],
            )
        signing_key_id = None
        if signature_bytes is not None:
            # Over the hash the store computed while the bytes streamed in: what devices get.
            signed = signing.manifest(model, version, stored.sha256, stored.size)
            signing_key_id = trusted.verify(signed, signature_bytes)
            if signing_key_id is None:
                raise _invalid_signature(
                    "The signature does not verify against a trusted key for this model, "
                    "version and image; nothing was stored"
                )
        async with pool.acquire() as conn, conn.transaction():
            image = await repository.insert_firmware(
                conn,
                model=model,
                version=version,
                precedence=precedence,
                blob_key=blob_key,
                sha256=stored.sha256,
                size_bytes=stored.size,
                release_notes=release_notes,
                signature=None
                if signature_bytes is None
                else signing.encode_signature(signature_bytes),
                signing_key_id=signing_key_id,
            )
            if image is None:
                raise _exists(model, version)
            await record_audit(
                conn,
                operator,
                "firmware.upload",
                "firmware",
                f"{model}/{version}",
                {
                    "model": model,
                    "version": version,
                    "size_bytes": stored.size,
                    "signing_key_id": signing_key_id,
                },
            )
    except BaseException:
        with contextlib.suppress(Exception):
            await store.delete(blob_key)
        raise
    return image


def _exists(model: str, version: str) -> Conflict:
    return Conflict(
        f"Firmware {version} already exists for model {model} (versions are immutable)",
        code="firmware_exists",
    )


async def list_firmware(pool: asyncpg.Pool, model: str | None) -> list[FirmwareImage]:
    return await repository.list_firmware(pool, model)


async def get_firmware(db: repository.Executor, model: str, version: str) -> FirmwareImage:
    image = await repository.get_firmware(db, model, version)
    if image is None:
        raise NotFound(f"No firmware {version} for model {model}")
    return image
