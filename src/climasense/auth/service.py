"""Authenticating callers from their `Authorization: Bearer …` header."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import asyncpg
from starlette.requests import HTTPConnection, Request

from climasense.auth import repository
from climasense.auth.cache import CredentialCache
from climasense.auth.keys import KeyHasher, KeyKind, generate_key, parse_key
from climasense.auth.principals import AdminPrincipal, DevicePrincipal
from climasense.errors import Unauthorized
from climasense.limits.failed_auth import FailedAuthThrottle

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
    ) -> None:
        self.pool = pool
        self.hasher = hasher
        self.cache = cache
        self.throttle = throttle

    async def device(self, authorization: str | None, client: str | None = None) -> DevicePrincipal:
        """The device behind a device API key; 401 if there is none.

        With a `client` address, a key the cache does not know is an attempt of that address
        for the failed-auth throttle (429 once it has too many failures)."""
        token = bearer_token(authorization)
        kind = parse_key(token) if token else None
        key_hash = None
        if token is not None and kind is not None and kind is not KeyKind.ADMIN:
            key_hash = self.hasher.hash(token)
            cached = self.cache.get(key_hash)
            if isinstance(cached, DevicePrincipal):
                return cached
        principal = await self._lookup(key_hash, client, repository.find_device_by_key_hash)
        if principal is None or key_hash is None:
            raise Unauthorized()
        self.cache.put(key_hash, principal)
        return principal

    async def device_for_request(self, request: Request) -> DevicePrincipal:
        """The calling device (Zigbee sensors included: the router answers them 403)."""
        client = self.throttle.client_address(request) if self.throttle else None
        return await self.device(request.headers.get("authorization"), client)

    async def admin(self, authorization: str | None, client: str | None = None) -> AdminPrincipal:
        token = bearer_token(authorization)
        token_hash = None
        if token is not None and parse_key(token) is KeyKind.ADMIN:
            token_hash = self.hasher.hash(token)
            cached = self.cache.get(token_hash)
            if isinstance(cached, AdminPrincipal):
                return cached
        principal = await self._lookup(token_hash, client, repository.find_admin_by_token_hash)
        if principal is None or token_hash is None:
            raise Unauthorized("Invalid or missing admin token")
        self.cache.put(token_hash, principal)
        return principal

    async def admin_for_request(self, request: HTTPConnection) -> AdminPrincipal:
        client = self.throttle.client_address(request) if self.throttle else None
        return await self.admin(request.headers.get("authorization"), client)

    async def _lookup(
        self,
        key_hash: bytes | None,
        client: str | None,
        find: Callable[[asyncpg.Pool, bytes], Awaitable[P | None]],
    ) -> P | None:
        """Look a key the cache does not know up in the database, as an authentication attempt
        of `client`: it counts only if nothing is found (a malformed key included); a valid
        key or a database failure gives it back."""
        throttle = self.throttle if client is not None else None
        if throttle is not None and client is not None:
            await throttle.attempt(client)
        try:
            found = None if key_hash is None else await find(self.pool, key_hash)
        except BaseException:
            if throttle is not None and client is not None:
                await throttle.give_back(client)
            raise
        if found is not None and throttle is not None and client is not None:
            await throttle.give_back(client)
        return found


async def create_admin_token(pool: asyncpg.Pool, hasher: KeyHasher, name: str) -> str:
    token = generate_key(KeyKind.ADMIN)
    async with pool.acquire() as conn:
        await repository.insert_admin_token(conn, name, hasher.hash(token))
    return token
