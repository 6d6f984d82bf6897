"""When each of a virtual device's periodic tasks (report, poll commands, check OTA) is due.

Pure: time is a number passed in, so tests drive it. Tasks start staggered over their first
period (a fleet started together does not report in lockstep) and never pile up: a task that
was late runs once and is next due one period later, not once per missed period.
"""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass
class Task:
    name: str
    every: float
    next_at: float


class Schedule:
    def __init__(self, periods: dict[str, float], start: float, rng: random.Random) -> None:
        for name, every in periods.items():
            if every <= 0:
                raise ValueError(f"period of {name} must be positive")
        self.tasks = {
            name: Task(name, every, start + rng.uniform(0, every))
            for name, every in periods.items()
        }

    def due(self, now: float) -> list[str]:
        """The tasks due at `now`, earliest first; each is rescheduled one period on."""
        ready = sorted(
            (t for t in self.tasks.values() if t.next_at <= now), key=lambda t: t.next_at
        )
        for task in ready:
            task.next_at = max(task.next_at + task.every, now + task.every * 0.5)
        return [t.name for t in ready]

    def next_at(self) -> float:
        return min(t.next_at for t in self.tasks.values())

    def postpone(self, name: str, until: float) -> None:
        """Not before `until` (a 429's Retry-After)."""
        task = self.tasks[name]
        task.next_at = max(task.next_at, until)

    def set_period(self, name: str, every: float, now: float) -> None:
        task = self.tasks[name]
        task.every = every
        task.next_at = min(task.next_at, now + every)
