"""Reading numbers from the environment, with a clear refusal naming the variable.

Shared by `Settings.from_env` and `AlertSettings.from_env`: unset or empty means the default.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from climasense.errors import ConfigurationError


def read_integer(env: Mapping[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum:
        raise ConfigurationError(f"{name} must be at least {minimum}, got {value}")
    return value


def read_number(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigurationError(f"{name} must be a number, got {raw!r}") from None
    if not value >= minimum or math.isinf(value):  # `not >=` also refuses NaN
        raise ConfigurationError(f"{name} must be a finite number >= {minimum}, got {raw!r}")
    return value
