"""One typed settings object, read from the environment (and `.env`) by `Settings.from_env`.

Nothing here runs at import: `create_app(settings)` and the CLI build a `Settings` and pass it
down, so tests build one per configuration.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from climasense.alerts.config import AlertSettings
from climasense.env_values import read_integer, read_number
from climasense.errors import ConfigurationError

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "placeholder"}


@dataclass(frozen=True, slots=True)
class RateLimit:
    limit: int
    window_seconds: int


def _default_limits() -> dict[str, RateLimit]:
    return {
        "telemetry": RateLimit(60, 60),
        "settings_get": RateLimit(10, 60),
        "commands_pending": RateLimit(30, 60),
        "ota_check": RateLimit(10, 60),
        "ota_download": RateLimit(5, 3600),
        "default": RateLimit(60, 60),
    }


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = None
    data_dir: Path = Path(".climasense")
    redis_url: str | None = None
    blob_url: str | None = None
    s3_endpoint_url: str | None = None
    secret_key: str | None = None
    db_pool_min: int = 2
    db_pool_max: int = 10
    device_body_limit: int = 256 * 1024
    auth_cache_seconds: float = 300.0
    revocation_poll_seconds: float = 1.0
    backfill_days: int = 90
    future_tolerance_seconds: int = 300
    rate_limits: dict[str, RateLimit] = field(default_factory=_default_limits)
    failed_auth_limit: RateLimit = RateLimit(30, 60)
    trust_forwarded_for: bool = False
    retention_days: int = 400
    partition_days: int = 7
    ingest_max_wait_ms: float = 2.0
    ingest_max_pending_readings: int = 200_000
    ingest_max_batch_readings: int = 5_000  # readings per group commit
    ingest_concurrency: int = 1  # group commits in flight at once (see writer.py)
    max_sensors_per_hub: int = 64
    hub_sensors_page_size: int = 100
    run_worker: bool = True
    dashboard_session_hours: int = 12
    log_level: str = "info"
    # OTA (CONTRACT §4.4): firmware store tuning, rollout safety.
    s3_region: str | None = None
    s3_part_size: int = 8 * 1024 * 1024
    s3_max_connections: int = 64
    firmware_max_bytes: int = 1024 * 1024 * 1024
    ota_failure_threshold_percent: float = 20.0
    ota_min_finished: int = 5
    ota_stuck_seconds: int = 2 * 3600
    alerts: AlertSettings = field(default_factory=AlertSettings)
    # Observability (CONTRACT §10).
    metrics_token: str | None = None
    log_format: str = "text"

    @classmethod
    def from_env(
        cls, environ: dict[str, str] | None = None, *, load_dotenv: bool = True
    ) -> Settings:
        if environ is None:
            if load_dotenv:
                from dotenv import load_dotenv as _load

                _load(override=False)
            environ = dict(os.environ)
        env = environ

        integer = partial(read_integer, env)
        number = partial(read_number, env)

        limits = _default_limits()
        for endpoint, current in list(limits.items()):
            prefix = f"CLIMASENSE_LIMIT_{endpoint.upper()}"
            limits[endpoint] = RateLimit(
                integer(prefix, current.limit, 1),
                integer(prefix + "_WINDOW", current.window_seconds, 1),
            )
        secret = env.get("CLIMASENSE_SECRET_KEY")
        if secret is not None and (
            secret.strip().lower() in _PLACEHOLDER_SECRETS or len(secret) < 32
        ):
            raise ConfigurationError(
                "CLIMASENSE_SECRET_KEY must be a random string of at least 32 characters "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        ota_threshold = integer("CLIMASENSE_OTA_FAILURE_THRESHOLD_PERCENT", 20)
        if ota_threshold > 100:
            raise ConfigurationError("CLIMASENSE_OTA_FAILURE_THRESHOLD_PERCENT must be 0..100")
        log_format = env.get("CLIMASENSE_LOG_FORMAT", "text").strip().lower() or "text"
        if log_format not in {"text", "json"}:
            raise ConfigurationError("CLIMASENSE_LOG_FORMAT must be text or json")
        return cls(
            database_url=env.get("CLIMASENSE_DATABASE_URL") or None,
            data_dir=Path(env.get("CLIMASENSE_DATA_DIR") or ".climasense"),
            redis_url=env.get("CLIMASENSE_REDIS_URL") or None,
            blob_url=env.get("CLIMASENSE_BLOB_URL") or None,
            s3_endpoint_url=env.get("CLIMASENSE_S3_ENDPOINT_URL") or None,
            secret_key=secret,
            db_pool_min=integer("CLIMASENSE_DB_POOL_MIN", 2, 1),
            db_pool_max=integer("CLIMASENSE_DB_POOL_MAX", 10, 1),
            backfill_days=integer("CLIMASENSE_BACKFILL_DAYS", 90, 1),
            rate_limits=limits,
            failed_auth_limit=RateLimit(integer("CLIMASENSE_FAILED_AUTH_LIMIT", 30, 1), 60),
            trust_forwarded_for=env.get("CLIMASENSE_TRUST_FORWARDED_FOR", "")
            in {"1", "true", "yes"},
            retention_days=integer("CLIMASENSE_RETENTION_DAYS", 400, 1),
            partition_days=integer("CLIMASENSE_PARTITION_DAYS", 7, 1),
            max_sensors_per_hub=integer("CLIMASENSE_MAX_SENSORS_PER_HUB", 64, 1),
            hub_sensors_page_size=integer("CLIMASENSE_HUB_SENSORS_PAGE_SIZE", 100, 1),
            dashboard_session_hours=integer("CLIMASENSE_DASHBOARD_SESSION_HOURS", 12, 1),
            ingest_max_wait_ms=number("CLIMASENSE_INGEST_MAX_WAIT_MS", 2.0),
            ingest_max_pending_readings=integer(
                "CLIMASENSE_INGEST_MAX_PENDING_READINGS", 200_000, 1
            ),
            ingest_max_batch_readings=integer("CLIMASENSE_INGEST_MAX_BATCH_READINGS", 5_000, 1),
            ingest_concurrency=integer("CLIMASENSE_INGEST_CONCURRENCY", 1, 1),
            run_worker=env.get("CLIMASENSE_RUN_WORKER", "1") not in {"0", "false", "no"},
            log_level=env.get("CLIMASENSE_LOG_LEVEL", "info"),
            s3_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or None,
            s3_part_size=integer("CLIMASENSE_S3_PART_SIZE", 8 * 1024 * 1024, 5 * 1024 * 1024),
            s3_max_connections=integer("CLIMASENSE_S3_MAX_CONNECTIONS", 64, 1),
            firmware_max_bytes=integer("CLIMASENSE_FIRMWARE_MAX_BYTES", 1024**3, 1),
            ota_failure_threshold_percent=ota_threshold,
            ota_min_finished=integer("CLIMASENSE_OTA_MIN_FINISHED", 5, 1),
            ota_stuck_seconds=integer("CLIMASENSE_OTA_STUCK_SECONDS", 2 * 3600, 1),
            alerts=AlertSettings.from_env(env),
            metrics_token=env.get("CLIMASENSE_METRICS_TOKEN") or None,
            log_format=log_format,
        )

    def with_overrides(self, **changes: object) -> Settings:
        return replace(self, **changes)  # type: ignore[arg-type]

    def resolved_secret_key(self) -> str:
        """The server secret that keys API-key hashes.

        Given explicitly, or (for the embedded default) generated once and kept in the data
        folder, so it survives restarts and is shared by every process using that folder.
        """
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if path.exists():
            return path.read_text().strip()
        if self.database_url is not None:
            raise ConfigurationError(
                "CLIMASENSE_SECRET_KEY is required when CLIMASENSE_DATABASE_URL is set "
                "(every API process must hash keys with the same secret)"
            )
        self.data_dir.mkdir(parents=True, exist_ok=True)
        key = secrets.token_urlsafe(48)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another process won the race; use its key
            return path.read_text().strip()
        with os.fdopen(fd, "w") as handle:
            handle.write(key + "\n")
        return key
