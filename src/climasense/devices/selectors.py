"""Tags, labels and selectors (CONTRACT §11).

A selector picks devices: every condition given must hold, and an empty selector is refused so
nothing is ever sent to the whole fleet by accident. `where` compiles one into a single SQL
condition on `devices d`, so whatever uses it (bulk tags, jobs, exports) is one set-based
statement however many devices match. `stored_match` is the same test against a selector kept
as JSONB in another row (a release's), evaluated per device at OTA check time.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, field_validator

from climasense.errors import ValidationFailed

MAX_TAGS = 32
LABEL_MAX = 100
TAG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_.:-]{0,62}$")
MAX_SELECTOR_DEVICE_IDS = 10_000
_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$"


def check_tags(tags: Sequence[Any], field: str = "tags") -> list[str]:
    """The tags deduplicated in order, or a 422 naming every bad one (nothing is changed)."""
    problems = [
        {"field": f"{field}[{i}]", "message": f"must match {TAG_PATTERN.pattern}"}
        for i, tag in enumerate(tags)
        if not isinstance(tag, str) or not TAG_PATTERN.match(tag)
    ]
    unique = list(dict.fromkeys(t for t in tags if isinstance(t, str)))
    if len(unique) > MAX_TAGS:
        problems.append({"field": field, "message": f"at most {MAX_TAGS} tags"})
    if problems:
        raise ValidationFailed("Invalid tags; nothing was changed", details=problems)
    return unique


def rollout_bucket(device_id: UUID) -> int:
    """0..99, stable per device: SQL `device_rollout_bucket` (migration 0090) computes the same."""
    return int.from_bytes(hashlib.sha256(device_id.bytes).digest()[:4], "big") % 100


class Selector(BaseModel):
    """All given conditions must hold; at least one must be given."""

    model_config = ConfigDict(extra="forbid")

    device_ids: list[UUID] | None = Field(default=None, max_length=MAX_SELECTOR_DEVICE_IDS)
    batch: str | None = Field(default=None, pattern=_NAME_PATTERN)
    model: str | None = Field(default=None, pattern=_NAME_PATTERN)
    kind: Literal["standalone", "hub", "zigbee_sensor"] | None = None
    tags_all: list[str] | None = Field(default=None, max_length=MAX_TAGS)
    tags_any: list[str] | None = Field(default=None, max_length=MAX_TAGS)

    @field_validator("tags_all", "tags_any")
    @classmethod
    def _tags(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        for tag in value:
            if not TAG_PATTERN.match(tag):
                raise ValueError(f"{tag!r} does not match {TAG_PATTERN.pattern}")
        return list(dict.fromkeys(value))

    def is_empty(self) -> bool:
        return not any(
            (
                self.device_ids,
                self.batch,
                self.model,
                self.kind,
                self.tags_all,
                self.tags_any,
            )
        )

    def stored(self) -> dict[str, Any]:
        """The JSON kept with a job or a release (only the given conditions)."""
        return self.model_dump(mode="json", exclude_none=True)


def require(selector: Selector, field: str = "selector") -> Selector:
    """Refuse an empty selector: a selector that names nothing would match every device."""
    if selector.is_empty():
        raise ValidationFailed(
            "An empty selector would match the whole fleet; give at least one condition",
            details=[{"field": field, "message": "at least one condition is required"}],
        )
    return selector


def where(selector: Selector, arg: Callable[[Any], str], alias: str = "d") -> str:
    """One SQL condition on `devices {alias}`; `arg` adds a bind value and returns its `$n`."""
    require(selector)
    conditions: list[str] = []
    if selector.device_ids:
        conditions.append(f"{alias}.device_id = ANY({arg(list(selector.device_ids))}::uuid[])")
    if selector.batch is not None:
        conditions.append(f"{alias}.batch = {arg(selector.batch)}")
    if selector.model is not None:
        conditions.append(f"{alias}.model = {arg(selector.model)}")
    if selector.kind is not None:
        conditions.append(f"{alias}.kind = {arg(selector.kind)}")
    if selector.tags_all:
        conditions.append(f"{alias}.tags @> {arg(selector.tags_all)}::text[]")
    if selector.tags_any:
        conditions.append(f"{alias}.tags && {arg(selector.tags_any)}::text[]")
    return "(" + " AND ".join(conditions) + ")"


def stored_match(selector_sql: str, alias: str = "d") -> str:
    """SQL true when device `alias` matches the JSONB selector `selector_sql` (NULL: no test)."""
    s = selector_sql
    return f"""({s} IS NULL OR (
        ({s} -> 'device_ids' IS NULL OR {s} -> 'device_ids' ? {alias}.device_id::text)
        AND ({s} ->> 'batch' IS NULL OR {s} ->> 'batch' = {alias}.batch)
        AND ({s} ->> 'model' IS NULL OR {s} ->> 'model' = {alias}.model)
        AND ({s} ->> 'kind' IS NULL OR {s} ->> 'kind' = {alias}.kind)
        AND ({s} -> 'tags_all' IS NULL OR {alias}.tags @> ARRAY(
                SELECT jsonb_array_elements_text({s} -> 'tags_all')))
        AND ({s} -> 'tags_any' IS NULL OR {alias}.tags && ARRAY(
                SELECT jsonb_array_elements_text({s} -> 'tags_any')))))"""
