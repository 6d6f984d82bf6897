"""The registry of background jobs; each capability adds its own here."""

from __future__ import annotations

from climasense.commands.jobs import command_jobs
from climasense.ota.jobs import periodic_jobs as ota_jobs
from climasense.worker.runner import LoopJob, PeriodicJob


def periodic_jobs() -> list[PeriodicJob]:
    from climasense.alerts.jobs import PERIODIC_JOBS as ALERT_JOBS
    from climasense.telemetry.maintenance import storage_job

    return [storage_job(), *command_jobs(), *ota_jobs(), *ALERT_JOBS]


def loop_jobs() -> list[LoopJob]:
    from climasense.alerts.jobs import LOOP_JOBS as ALERT_LOOPS

    return [*ALERT_LOOPS]
