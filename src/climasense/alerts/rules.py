"""Rules as the evaluator sees them: a condition on one sensor type, a scope, and the
hysteresis that decides when an open alert clears."""

from __future__ import annotations

import operator
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from uuid import UUID

from climasense.sensor_types import CODES

# The code table of migration 0002 (`sensor_types`), by name.
SENSOR_TYPE_CODES: dict[str, int] = CODES
SENSOR_TYPE_NAMES: dict[int, str] = {code: name for name, code in SENSOR_TYPE_CODES.items()}

OPS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}

# With a clear threshold, an open alert clears on the complement of the operator around it:
# `> 80` with `clear_threshold` 75 clears at a value <= 75, `>= 80` at < 75, `< 20` with 25 at
# >= 25, `<= 20` at > 25. Without one, it clears when the condition no longer holds.
CLEARS: dict[str, Callable[[float, float], bool]] = {
    ">": operator.le,
    ">=": operator.lt,
    "<": operator.ge,
    "<=": operator.gt,
}


@dataclass(frozen=True, slots=True)
class Condition:
    op: str
    threshold: float
    clear_threshold: float | None = None

    def holds(self, value: float) -> bool:
        return OPS[self.op](value, self.threshold)

    def clears(self, value: float) -> bool:
        if self.clear_threshold is None:
            return not self.holds(value)
        return CLEARS[self.op](value, self.clear_threshold)


def clear_threshold_problem(op: str, threshold: float, clear_threshold: float) -> str | None:
    """Why `clear_threshold` cannot go with this condition, or None if it can."""
    if op not in CLEARS:
        return "clear_threshold needs one of the operators > >= < <="
    if op in {">", ">="} and clear_threshold > threshold:
        return f"with op {op}, clear_threshold must not be above threshold"
    if op in {"<", "<="} and clear_threshold < threshold:
        return f"with op {op}, clear_threshold must not be below threshold"
    return None


@dataclass(frozen=True, slots=True)
class Rule:
    """An alert rule, once: the row the repository returns, what the service hands the API
    (`RuleOut` is its response schema, read from these attributes) and what the evaluator
    applies (`condition`, `sensor_type_code`, `applies_to`)."""

    rule_id: UUID
    name: str
    kind: str  # "threshold" | "device_offline"
    sensor_type: str | None  # a sensor type name (`temperature`), None for device_offline
    op: str | None
    threshold: float | None
    clear_threshold: float | None
    for_seconds: int
    severity: str
    batch: str | None
    device_id: UUID | None
    created_at: datetime
    updated_at: datetime
    condition: Condition | None = field(init=False, compare=False, repr=False)
    sensor_type_code: int | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        # Derived once here, not per reading in the evaluator's loop.
        condition = None
        if self.kind == "threshold" and self.op is not None and self.threshold is not None:
            condition = Condition(self.op, self.threshold, self.clear_threshold)
        code = None if self.sensor_type is None else SENSOR_TYPE_CODES[self.sensor_type]
        object.__setattr__(self, "condition", condition)
        object.__setattr__(self, "sensor_type_code", code)

    def applies_to(self, subject: Subject) -> bool:
        """Scope: the whole fleet, a batch, or one device. For a hub's sensor both the sensor
        and its hub count, so a rule scoped to a hub (or its batch) covers its sensors."""
        if self.batch is not None and self.batch not in (subject.batch, subject.hub_batch):
            return False
        return self.device_id is None or self.device_id in (subject.subject_id, subject.hub_id)


@dataclass(frozen=True, slots=True)
class Subject:
    """The device that took a reading, and where its alerts are shown."""

    subject_id: UUID
    kind: str
    batch: str
    hub_id: UUID | None
    hub_batch: str | None

    @property
    def device_id(self) -> UUID:
        """The alert's `device_id`: the hub for a paired Zigbee sensor, else the device."""
        if self.kind == "zigbee_sensor" and self.hub_id is not None:
            return self.hub_id
        return self.subject_id

    @property
    def sensor_id(self) -> UUID | None:
        return self.subject_id if self.kind == "zigbee_sensor" else None
