"""`setting(...)`: a dataclass field that declares its environment variable and meaning.

Apart from settings.py so that nested settings (alert_settings.py) declare theirs the same way
without importing settings.py (which imports them).
"""

from __future__ import annotations

from dataclasses import field
from typing import Any


def setting(
    default: Any, env: str | tuple[str, ...], meaning: str, *, minimum: float | None = None
) -> Any:
    """A field with `default`, read from `env` (first set name wins), `minimum` checked."""
    names = (env,) if isinstance(env, str) else env
    return field(default=default, metadata={"env": names, "meaning": meaning, "minimum": minimum})
