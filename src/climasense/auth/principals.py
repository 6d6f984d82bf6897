"""Who is calling: a device (standalone, hub or Zigbee sensor) or an operator."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from uuid import UUID


@dataclass(frozen=True, slots=True)
class DevicePrincipal:
    device_id: UUID
    serial_number: str
    kind: str  # standalone | hub | zigbee_sensor
    model: str
    batch: str

    @property
    def is_hub(self) -> bool:
        return self.kind == "hub"


@dataclass(frozen=True, slots=True)
class AdminPrincipal:
    token_id: UUID
    name: str
    role: str = "admin"  # viewer | operator | admin (climasense.auth.roles)
    expires_at: datetime | None = None


Principal = DevicePrincipal | AdminPrincipal
