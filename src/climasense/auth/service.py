"""Authenticating callers from their `Authorization: Bearer …` header."""

from __future__ import annotations

import asyncpg
from starlette.requests import Request

from climasense.auth import repository
from climasense.auth.cache import CredentialCache
from climasense.auth.keys import KeyHasher, KeyKind, generate_key, parse_key
from climasense.auth.principals import AdminPrincipal, DevicePrincipal
from climasense.errors import Unauthorized


def bearer_token(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer":
        return None
    token = token.strip()
    return token or None


class Authenticator:
    def __init__(self, pool: asyncpg.Pool, hasher: KeyHasher, cache: CredentialCache) -> None:
        self.pool = pool
        self.hasher = hasher
        self.cache = cache

    async def device(self, authorization: str | None) -> DevicePrincipal:
        """The device behind a device API key; 401 if there is none."""
        token = bearer_token(authorization)
        kind = parse_key(token) if token else None
        if token is None or kind is None or kind is KeyKind.ADMIN:
            raise Unauthorized()
        key_hash = self.hasher.hash(token)
        principal = self.cache.get(key_hash)
        if not isinstance(principal, DevicePrincipal):
            principal = await repository.find_device_by_key_hash(self.pool, key_hash)
            if principal is None:
                raise Unauthorized()
            self.cache.put(key_hash, principal)
        return principal

    async def device_for_request(self, request: Request) -> DevicePrincipal:
        """The calling device (Zigbee sensors included: the router answers them 403)."""
        return await self.device(request.headers.get("authorization"))

    async def admin(self, authorization: str | None) -> AdminPrincipal:
        token = bearer_token(authorization)
        if token is None or parse_key(token) is not KeyKind.ADMIN:
            raise Unauthorized("Invalid or missing admin token")
        token_hash = self.hasher.hash(token)
        principal = self.cache.get(token_hash)
        if not isinstance(principal, AdminPrincipal):
            principal = await repository.find_admin_by_token_hash(self.pool, token_hash)
            if principal is None:
                raise Unauthorized("Invalid or missing admin token")
            self.cache.put(token_hash, principal)
        return principal


async def create_admin_token(pool: asyncpg.Pool, hasher: KeyHasher, name: str) -> str:
    token = generate_key(KeyKind.ADMIN)
    async with pool.acquire() as conn:
        await repository.insert_admin_token(conn, name, hasher.hash(token))
    return token
