"""Identifiers in paths: anything that is not a UUID is answered like an unknown id (404)."""

from __future__ import annotations

from uuid import UUID

from climasense.errors import NotFound


def uuid_or_404(value: str, what: str = "Resource") -> UUID:
    try:
        return UUID(value)
    except ValueError:
        raise NotFound(f"{what} not found") from None
