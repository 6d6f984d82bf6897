"""Query parameter types shared by operator routes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime


def _storable(value: datetime) -> datetime:
    # Year 1 with a positive offset is year 0 in UTC: PostgreSQL (and Python) cannot hold it,
    # so it is refused here (422) instead of failing in the driver (500).
    try:
        value.astimezone(UTC)
    except OverflowError:
        raise ValueError("must fall between the years 1 and 9999 in UTC") from None
    return value


# An RFC 3339 time with an offset that also exists in UTC.
UtcDatetime = Annotated[AwareDatetime, AfterValidator(_storable)]
