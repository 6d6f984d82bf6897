"""Tags, label and batch of a device; bulk tagging by selector (CONTRACT §11)."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import asyncpg

from climasense.audit import Actor, JsonObject, record_audit
from climasense.auth import repository as credentials
from climasense.devices import repository, selectors
from climasense.devices.selectors import Selector
from climasense.errors import NotFound, ValidationFailed


async def update_device(
    pool: asyncpg.Pool,
    device_id: UUID,
    *,
    tags: list[str] | None,
    label: str | None,
    set_label: bool,
    batch: str | None,
    operator: Actor,
) -> None:
    """Set the given fields (all validated first: a bad tag changes nothing)."""
    if tags is not None:
        tags = sorted(selectors.check_tags(tags))
    async with pool.acquire() as conn, conn.transaction():
        changed = await repository.update_device(
            conn, device_id, tags=tags, label=label, set_label=set_label, batch=batch
        )
        if changed is None:
            raise NotFound("Device not found")
        if changed.moved and changed.key_hash:
            # Every process drops its cached principal (which carries the batch) within the
            # revocation feed's 5 s: the device's next request is authenticated afresh.
            await credentials.record_credential_event(conn, changed.key_hash)
        details: JsonObject = {}
        if tags is not None:
            details["tags"] = tags
        if set_label:
            details["label"] = label
        if batch is not None:
            details["batch"] = batch
        if details:  # a PATCH naming no field changes nothing: no entry
            await record_audit(conn, operator, "device.update", "device", device_id, details)


async def retag(
    pool: asyncpg.Pool,
    selector: Selector,
    *,
    add: list[str],
    remove: list[str],
    operator: Actor,
) -> int:
    """Add/remove tags on every device the selector matches, in one statement."""
    add = selectors.check_tags(add, "add")
    remove = selectors.check_tags(remove, "remove")
    if not add and not remove:
        raise ValidationFailed(
            "Nothing to change", details=[{"field": "add", "message": "give add or remove"}]
        )
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    condition = selectors.where(selectors.require(selector), arg)
    async with pool.acquire() as conn, conn.transaction():
        try:
            matched = await repository.retag(conn, condition, args, add, remove)
        except asyncpg.CheckViolationError:
            raise ValidationFailed(
                f"A device would have more than {selectors.MAX_TAGS} tags; nothing was changed",
                details=[{"field": "add", "message": f"at most {selectors.MAX_TAGS} tags"}],
            ) from None
        await record_audit(
            conn,
            operator,
            "device.tag",
            "device",
            None,
            {"selector": selector.stored(), "add": add, "remove": remove, "matched": matched},
        )
    return matched
