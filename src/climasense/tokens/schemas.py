"""Request and response bodies of the operator token endpoints (CONTRACT §9)."""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field

from climasense.auth.roles import Role
from climasense.http.params import UtcDatetime


class TokenCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, description="Who or what the token is for.")
    role: Role = Field(
        description="`viewer` reads; `operator` changes; `admin` also manages tokens."
    )
    expires_at: UtcDatetime | None = Field(
        default=None, description="After this time the token gets 401 (RFC 3339, with offset)."
    )


class TokenOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    token_id: UUID
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreated(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    token_id: UUID
    name: str
    role: Role
    created_at: datetime
    expires_at: datetime | None
    token: str = Field(description="The secret, shown only in this response.")


class TokenList(BaseModel):
    tokens: list[TokenOut]
    next_cursor: str | None


class WhoAmI(BaseModel):
    token_id: UUID | None
    name: str
    role: Role
    expires_at: datetime | None
