"""The alert system's background jobs, gathered by `climasense.worker.jobs`."""

from __future__ import annotations

from climasense.alerts.evaluator import run_evaluator
from climasense.alerts.offline import run_sweep
from climasense.background import LoopJob, PeriodicJob

# Offline means silent for 3 reporting intervals (at least 3 minutes): a sweep every 15 s
# opens the alert within 15 s of that moment.
OFFLINE_SWEEP_SECONDS = 15.0

PERIODIC_JOBS = (PeriodicJob("device-offline", OFFLINE_SWEEP_SECONDS, run_sweep),)
LOOP_JOBS = (LoopJob("alert-evaluator", run_evaluator),)
