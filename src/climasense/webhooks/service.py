"""Webhook registration and the operator's view of deliveries."""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit
from uuid import UUID

import asyncpg

from climasense.audit import Actor, record_audit
from climasense.errors import NotFound
from climasense.pagination import decode_cursor, decode_sequence, encode_sequence, split_page
from climasense.webhooks import repository
from climasense.webhooks.repository import Delivery, Webhook
from climasense.webhooks.targets import check_url


def _url_for_audit(url: str) -> str:
    """The URL without user info, query or fragment: those may carry credentials."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.hostname or "", parts.path, "", ""))


async def create_webhook(
    pool: asyncpg.Pool,
    url: str,
    secret: str,
    *,
    operator: Actor,
    allow_private_networks: bool = False,
) -> Webhook:
    await check_url(url, allow_private=allow_private_networks)
    async with pool.acquire() as conn, conn.transaction():
        webhook = await repository.create_webhook(conn, url, secret)
        await record_audit(
            conn,
            operator,
            "webhook.create",
            "webhook",
            webhook.webhook_id,
            {"url": _url_for_audit(url)},
        )
    return webhook


async def list_webhooks(
    pool: asyncpg.Pool, cursor: str | None, limit: int
) -> tuple[list[Webhook], str | None]:
    after = decode_cursor(cursor, UUID, kind="webhooks") if cursor else None
    webhooks = await repository.list_webhooks(pool, after, limit + 1)
    return split_page(webhooks, limit, lambda w: (w.created_at, w.webhook_id), kind="webhooks")


async def get_webhook(pool: asyncpg.Pool, webhook_id: UUID) -> Webhook:
    webhook = await repository.get_webhook(pool, webhook_id)
    if webhook is None:
        raise NotFound("Webhook not found")
    return webhook


async def delete_webhook(pool: asyncpg.Pool, webhook_id: UUID, *, operator: Actor) -> None:
    """Stop sending to a webhook; its pending deliveries are cancelled, history kept."""
    async with pool.acquire() as conn, conn.transaction():
        if not await repository.delete_webhook(conn, webhook_id):
            raise NotFound("Webhook not found")
        await record_audit(conn, operator, "webhook.delete", "webhook", webhook_id)


async def list_deliveries(
    pool: asyncpg.Pool, webhook_id: UUID, state: str | None, cursor: str | None, limit: int
) -> tuple[list[Delivery], str | None]:
    await get_webhook(pool, webhook_id)
    before = None if cursor is None else decode_sequence("deliveries", cursor)
    deliveries = await repository.list_deliveries(pool, webhook_id, state, before, limit + 1)
    next_cursor = (
        encode_sequence("deliveries", deliveries[limit - 1].delivery_id)
        if len(deliveries) > limit
        else None
    )
    return deliveries[:limit], next_cursor
