"""The bodies of `/v1/hub/*`: parsing a registration and the list's opaque cursor."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from climasense.errors import ValidationFailed

IEEE_ADDRESS = re.compile(r"^0x[0-9a-fA-F]{16}\Z")


@dataclass(frozen=True, slots=True)
class SensorRegistration:
    sensor_api_key: str
    ieee_address: str | None


def parse_registration(document: Any) -> SensorRegistration:
    """The registration in a request body, or 422 `validation_error` naming every problem.

    The contract's schema does not forbid other fields, so they are ignored (a newer hub
    firmware may send more than this server knows).
    """
    if not isinstance(document, dict):
        raise ValidationFailed(
            "Request body must be a JSON object",
            details=[{"field": "body", "message": "must be an object"}],
        )
    problems: list[dict[str, str]] = []
    key = document.get("sensor_api_key")
    if not isinstance(key, str):
        missing = "sensor_api_key" not in document
        message = "is required" if missing else "must be a string"
        problems.append({"field": "sensor_api_key", "message": message})
    ieee = document.get("ieee_address")
    if "ieee_address" in document and (not isinstance(ieee, str) or not IEEE_ADDRESS.match(ieee)):
        problems.append(
            {
                "field": "ieee_address",
                "message": "must be 0x followed by 16 hexadecimal digits, e.g. 0x00124b001cce5a7d",
            }
        )
    if problems or not isinstance(key, str):
        raise ValidationFailed("Request body breaks the schema", details=problems)
    return SensorRegistration(key, ieee if isinstance(ieee, str) else None)
