"""The webhook system's background job, gathered by `climasense.worker.jobs`."""

from __future__ import annotations

from climasense.background import LoopJob
from climasense.webhooks.delivery import run_delivery

LOOP_JOBS = (LoopJob("webhook-delivery", run_delivery),)
