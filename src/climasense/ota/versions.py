"""Firmware versions are semantic versions, compared by semver precedence (`semver` package):
`1.10.0` > `1.9.0`, a pre-release sorts below its release, build metadata is ignored."""

from __future__ import annotations

from collections.abc import Iterable

import semver

from climasense.errors import ValidationFailed

MAX_LENGTH = 64


def parse(text: str) -> semver.Version | None:
    if not text or len(text) > MAX_LENGTH or not text.isascii():
        return None
    try:
        return semver.Version.parse(text)
    except (ValueError, TypeError):
        return None


def require(text: str | None, field: str) -> semver.Version:
    """The parsed version, or 422 naming `field`."""
    version = parse(text) if isinstance(text, str) else None
    if version is None:
        message = "is required" if text is None else "must be a semantic version, e.g. 1.2.3"
        raise ValidationFailed(f"{field} {message}", details=[{"field": field, "message": message}])
    return version


def precedence(version: semver.Version) -> str:
    """The version without build metadata: versions equal in precedence share this string."""
    return str(version.replace(build=None))


def highest_above(candidates: Iterable[str], current: semver.Version) -> str | None:
    """The highest of `candidates` strictly above `current` (never a downgrade or a sidegrade)."""
    best: tuple[semver.Version, str] | None = None
    for text in candidates:
        version = parse(text)
        if version is None or version <= current:
            continue
        if best is None or version > best[0]:
            best = (version, text)
    return None if best is None else best[1]
