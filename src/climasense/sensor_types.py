"""The sensor types a reading may carry, their units and accepted values (CONTRACT §4.1).

The codes are the `sensor_types` table of migration 0002: readings store the small integer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args


@dataclass(frozen=True, slots=True)
class SensorType:
    code: int
    name: str
    unit: str
    minimum: float
    maximum: float
    # power_availability is a boolean carried as a number: exactly 0 or 1, nothing between.
    binary: bool = False

    def accepts(self, value: float) -> bool:
        if self.binary:
            return value == 0 or value == 1
        return self.minimum <= value <= self.maximum

    def describe_range(self) -> str:
        if self.binary:
            return "exactly 0 or 1"
        return f"{self.minimum:g} .. {self.maximum:g}"


SENSOR_TYPES: tuple[SensorType, ...] = (
    SensorType(1, "temperature", "°C", -60, 125),
    SensorType(2, "humidity", "%", 0, 100),
    SensorType(3, "pressure", "hPa", 300, 1100),
    SensorType(4, "power_availability", "boolean", 0, 1, binary=True),
    SensorType(5, "battery_level", "%", 0, 100),
    SensorType(6, "signal_strength", "dBm", -150, 0),
    SensorType(7, "iaq", "index", 0, 500),
)

BY_NAME: dict[str, SensorType] = {t.name: t for t in SENSOR_TYPES}
BY_CODE: dict[int, SensorType] = {t.code: t for t in SENSOR_TYPES}
NAMES: tuple[str, ...] = tuple(t.name for t in SENSOR_TYPES)
CODES: dict[str, int] = {t.name: t.code for t in SENSOR_TYPES}

# The same names as a type, for request models (pydantic turns it into the schema's enum).
SensorTypeName = Literal[
    "temperature",
    "humidity",
    "pressure",
    "power_availability",
    "battery_level",
    "signal_strength",
    "iaq",
]
if get_args(SensorTypeName) != NAMES:  # pragma: no cover - a guard against drift at import
    raise RuntimeError("SensorTypeName and SENSOR_TYPES disagree")
