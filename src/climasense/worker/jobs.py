"""The registry of background jobs; each capability adds its own here."""

from __future__ import annotations

from climasense.worker.runner import LoopJob, PeriodicJob


def periodic_jobs() -> list[PeriodicJob]:
    from climasense.alerts.jobs import PERIODIC_JOBS as ALERT_JOBS

    return [*ALERT_JOBS]


def loop_jobs() -> list[LoopJob]:
    from climasense.alerts.jobs import LOOP_JOBS as ALERT_LOOPS

    return [*ALERT_LOOPS]
