"""Tuning of alert evaluation, offline detection and webhook delivery (`Settings.alerts`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial

from climasense.env_values import read_number


@dataclass(frozen=True, slots=True)
class AlertSettings:
    poll_seconds: float = 0.1  # idle evaluator: how often it looks at its shards' outbox
    busy_poll_seconds: float = 0.02  # after a batch that found rows (but not a full batch)
    batch_size: int = 500  # outbox rows per evaluation transaction
    rebalance_seconds: float = 2.0  # how often an evaluator revisits its share of shards
    webhook_poll_seconds: float = 0.2
    webhook_batch_size: int = 50
    webhook_per_endpoint: int = 5  # deliveries to one endpoint in flight per sender round
    webhook_timeout_seconds: float = 5.0
    webhook_retry_base_seconds: float = 2.0
    webhook_retry_max_seconds: float = 3600.0
    webhook_max_attempts: int = 12

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> AlertSettings:
        number = partial(read_number, env)
        defaults = cls()
        return cls(
            poll_seconds=number("CLIMASENSE_ALERT_POLL_SECONDS", defaults.poll_seconds, 0.01),
            busy_poll_seconds=number(
                "CLIMASENSE_ALERT_BUSY_POLL_SECONDS", defaults.busy_poll_seconds, 0.001
            ),
            batch_size=int(number("CLIMASENSE_ALERT_BATCH_SIZE", defaults.batch_size, 1)),
            webhook_timeout_seconds=number(
                "CLIMASENSE_WEBHOOK_TIMEOUT_SECONDS", defaults.webhook_timeout_seconds, 0.1
            ),
            webhook_retry_base_seconds=number(
                "CLIMASENSE_WEBHOOK_RETRY_BASE_SECONDS", defaults.webhook_retry_base_seconds, 0.01
            ),
            webhook_max_attempts=int(
                number("CLIMASENSE_WEBHOOK_MAX_ATTEMPTS", defaults.webhook_max_attempts, 1)
            ),
        )
