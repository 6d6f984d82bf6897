"""Every background job of the deployment, gathered from the domains (as the API edge gathers
their routes): each domain declares its own in `<domain>/jobs.py` or `maintenance.py`."""

from __future__ import annotations

from climasense.alerts.jobs import LOOP_JOBS as ALERT_LOOPS
from climasense.alerts.jobs import PERIODIC_JOBS as ALERT_JOBS
from climasense.background import LoopJob, PeriodicJob
from climasense.commands.jobs import PERIODIC_JOBS as COMMAND_JOBS
from climasense.ota.jobs import PERIODIC_JOBS as OTA_JOBS
from climasense.telemetry.maintenance import PERIODIC_JOBS as TELEMETRY_JOBS
from climasense.webhooks.jobs import LOOP_JOBS as WEBHOOK_LOOPS

PERIODIC_JOBS: tuple[PeriodicJob, ...] = (*TELEMETRY_JOBS, *COMMAND_JOBS, *OTA_JOBS, *ALERT_JOBS)
LOOP_JOBS: tuple[LoopJob, ...] = (*ALERT_LOOPS, *WEBHOOK_LOOPS)
