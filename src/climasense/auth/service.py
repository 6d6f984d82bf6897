"""Authenticating callers from their `Authorization: Bearer …` header."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable
from typing import TypeVar
from uuid import UUID

import asyncpg
from starlette.requests import HTTPConnection, Request

from climasense.auth import repository
from climasense.auth.cache import CredentialCache
from climasense.auth.key_lookups import DeviceKeyLookups
from climasense.auth.keys import KeyHasher, KeyKind, parse_key
from climasense.auth.principals import AdminPrincipal, DevicePrincipal
from climasense.auth.roles import is_expired
from climasense.errors import Unauthorized
from climasense.limits.failed_auth import FailedAuthThrottle
from climasense.observability import metrics

P = TypeVar("P", DevicePrincipal, AdminPrincipal)


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


class Authenticator:
    def __init__(
        self,
        pool: asyncpg.Pool,
        hasher: KeyHasher,
        cache: CredentialCache,
        throttle: FailedAuthThrottle | None = None,
        *,
        max_known_keys: int = 100_000,
    ) -> None:
        self.pool = pool
        self.hasher = hasher
        self.cache = cache
        self.throttle = throttle
        # Unknown device keys are looked up together (a fleet reconnecting after a restart).
        self._device_lookups = DeviceKeyLookups(pool)
        # Device keys found valid → their hash: parsing a key (CRC) and its HMAC are a pure
        # function of the key, so a known key skips them. Whether the key is still valid is
        # decided by the credential cache (revocation feed) exactly as before.
        self._known_keys: dict[str, bytes] = {}
        self._max_known_keys = max_known_keys
        # Operator token → when this process last wrote its `last_used_at` (monotonic).
        self._last_touched: dict[UUID, float] = {}

    def _device_key_hash(self, token: str | None) -> bytes | None:
        """The stored hash of a well-formed device or sensor key; None for anything else."""
        if token is None:
            return None
        known = self._known_keys.get(token)
        if known is not None:
            return known
        kind = parse_key(token)
        if kind is None or kind is KeyKind.ADMIN:
            return None
        return self.hasher.hash(token)

    async def device(self, authorization: str | None, client: str | None = None) -> DevicePrincipal:
        """The device behind a device API key; 401 if there is none.

        With a `client` address, a key the cache does not know is an attempt of that address
        for the failed-auth throttle (429 once it has too many failures)."""
        token = bearer_token(authorization)
        key_hash = self._device_key_hash(token)
        if key_hash is not None:
            cached = self.cache.get(key_hash)
            if isinstance(cached, DevicePrincipal):
                return cached
        principal = await self._lookup(key_hash, client, self._device_lookups.find)
        if principal is None or key_hash is None or token is None:
            if token is not None:
                self._known_keys.pop(token, None)
            metrics.auth_failure()
            raise Unauthorized()
        self.cache.put(key_hash, principal)
        if token not in self._known_keys:
            if len(self._known_keys) >= self._max_known_keys:
                self._known_keys.clear()  # rare; rebuilt from the next requests
            self._known_keys[token] = key_hash
        return principal

    async def device_for_request(self, request: Request) -> DevicePrincipal:
        """The calling device (Zigbee sensors included: the router answers them 403)."""
        authorization = request.headers.get("authorization")
        key_hash = self._device_key_hash(bearer_token(authorization))
        if key_hash is not None:  # the common case, without working out the client address
            cached = self.cache.get(key_hash)
            if isinstance(cached, DevicePrincipal):
                return cached
        client = self.throttle.client_address(request) if self.throttle else None
        return await self.device(authorization, client)

    async def admin(self, authorization: str | None, client: str | None = None) -> AdminPrincipal:
        token = bearer_token(authorization)
        token_hash = None
        if token is not None and parse_key(token) is KeyKind.ADMIN:
            token_hash = self.hasher.hash(token)
            cached = self.cache.get(token_hash)
            if isinstance(cached, AdminPrincipal):
                if is_expired(cached):
                    self.cache.evict(token_hash)
                    raise Unauthorized("Invalid or missing admin token")
                await self._touch(cached.token_id)
                return cached
        principal = await self._lookup(token_hash, client, self._find_admin)
        if principal is None or token_hash is None:
            metrics.auth_failure()
            raise Unauthorized("Invalid or missing admin token")
        self.cache.put(token_hash, principal)
        await self._touch(principal.token_id)
        return principal

    async def _find_admin(self, token_hash: bytes) -> AdminPrincipal | None:
        return await repository.find_admin_by_token_hash(self.pool, token_hash)

    async def _touch(self, token_id: UUID) -> None:
        """Keep the token's `last_used_at` to the minute: one write a minute per token (and
        process), not one per request."""
        now = time.monotonic()
        if now - self._last_touched.get(token_id, -1e9) < 60:
            return
        if len(self._last_touched) > 10_000:
            self._last_touched.clear()
        self._last_touched[token_id] = now
        # Bookkeeping only: a failed write must not refuse the request.
        with contextlib.suppress(OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
            await repository.touch_admin_token(self.pool, token_id)

    async def admin_for_request(self, request: HTTPConnection) -> AdminPrincipal:
        client = self.throttle.client_address(request) if self.throttle else None
        return await self.admin(request.headers.get("authorization"), client)

    async def _lookup(
        self,
        key_hash: bytes | None,
        client: str | None,
        find: Callable[[bytes], Awaitable[P | None]],
    ) -> P | None:
        """Look a key the cache does not know up in the database (bounded: see
        limits/failed_auth.py). Only a failure counts against `client`'s address, and a
        valid key is never refused by the throttle (CONTRACT §3)."""
        throttle = self.throttle
        if key_hash is None:
            found = None
        elif throttle is None:
            found = await find(key_hash)
        else:
            async with throttle.lookup_slot(client):
                found = await find(key_hash)
        if found is None and throttle is not None and client is not None:
            await throttle.failure(client)
        return found
