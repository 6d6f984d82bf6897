"""Tuning of alert evaluation, offline detection and webhook delivery (`Settings.alerts`).

Each field declares its environment variable; `Settings.from_env` reads them. It lives beside
`settings.py`, below the domains, so the settings never import a domain.
"""

from __future__ import annotations

from dataclasses import dataclass

from climasense.setting_fields import setting


@dataclass(frozen=True, slots=True)
class AlertSettings:
    poll_seconds: float = setting(
        0.1,
        "CLIMASENSE_ALERT_POLL_SECONDS",
        "Idle alert evaluator: how often it looks at its shards' outbox.",
        minimum=0.01,
    )
    busy_poll_seconds: float = setting(
        0.02,
        "CLIMASENSE_ALERT_BUSY_POLL_SECONDS",
        "Alert evaluator: next look after a batch that found rows (but not a full batch).",
        minimum=0.001,
    )
    batch_size: int = setting(
        500, "CLIMASENSE_ALERT_BATCH_SIZE", "Outbox rows per evaluation transaction.", minimum=1
    )
    rebalance_seconds: float = setting(
        2.0,
        "CLIMASENSE_ALERT_REBALANCE_SECONDS",
        "How often an evaluator revisits its share of shards.",
        minimum=0.1,
    )
    webhook_poll_seconds: float = setting(
        0.2,
        "CLIMASENSE_WEBHOOK_POLL_SECONDS",
        "How often the webhook sender looks for work.",
        minimum=0.01,
    )
    webhook_batch_size: int = setting(
        50,
        "CLIMASENSE_WEBHOOK_BATCH_SIZE",
        "Deliveries in flight at once, per worker process.",
        minimum=1,
    )
    webhook_per_endpoint: int = setting(
        5,
        "CLIMASENSE_WEBHOOK_PER_ENDPOINT",
        "Deliveries to one endpoint in flight at once, per worker process.",
        minimum=1,
    )
    webhook_timeout_seconds: float = setting(
        5.0, "CLIMASENSE_WEBHOOK_TIMEOUT_SECONDS", "Timeout of one webhook request.", minimum=0.1
    )
    webhook_retry_base_seconds: float = setting(
        2.0,
        "CLIMASENSE_WEBHOOK_RETRY_BASE_SECONDS",
        "First retry delay of a failed delivery (doubles each attempt).",
        minimum=0.01,
    )
    webhook_retry_max_seconds: float = setting(
        3600.0,
        "CLIMASENSE_WEBHOOK_RETRY_MAX_SECONDS",
        "Longest delay between two delivery attempts.",
        minimum=0.01,
    )
    webhook_max_attempts: int = setting(
        12, "CLIMASENSE_WEBHOOK_MAX_ATTEMPTS", "Attempts before a delivery is given up.", minimum=1
    )
