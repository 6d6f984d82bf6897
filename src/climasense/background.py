"""What a background job is, apart from the runner (no upward imports): domains declare their
jobs with these (`<domain>/jobs.py`), `worker.jobs` gathers them, `worker.runner` runs them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import asyncpg

if TYPE_CHECKING:
    from climasense.services import Services


@dataclass(frozen=True, slots=True)
class PeriodicJob:
    name: str
    interval: float
    # Called inside a transaction on `conn`, only while this process holds the job's lock.
    run: Callable[[Services, asyncpg.Connection], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class LoopJob:
    name: str
    run: Callable[[Services], Awaitable[None]]
