"""One typed settings object, read from the environment (and `.env`) by `Settings.from_env`.

Nothing here runs at import: `create_app(settings)` and the CLI build a `Settings` and pass it
down, so tests build one per configuration. `Settings(...)` never reads the environment.

Every variable is declared once, on its field: `setting(default, "CLIMASENSE_...", "meaning")`
(type from the annotation, default, environment name, one line of meaning, lower bound).
`from_env` reads the process environment and `.env` through pydantic-settings and converts
and checks each value with pydantic; `python -m climasense.settings_doc` writes
docs/configuration.md from the same declarations.

The values stay frozen dataclasses (not pydantic models): `Settings(...)` and
`RateLimit(limit, window)` keep their plain constructors, `with_overrides` is
`dataclasses.replace`, and the hot path reads slots, not model attributes.
"""

from __future__ import annotations

import math
import os
import re
import secrets
import typing
from collections.abc import Iterator, Mapping
from dataclasses import MISSING, dataclass, field, fields, replace
from pathlib import Path
from typing import Annotated, Any, Self

from climasense.alert_settings import AlertSettings
from climasense.errors import ConfigurationError
from climasense.setting_fields import setting

_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "xxx", "placeholder"}
LOG_FORMATS = ("text", "json")


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


# Failed device authentications per client address (CLIMASENSE_FAILED_AUTH_LIMIT per minute).
_FAILED_AUTH_DEFAULT = RateLimit(30, 60)

# Device rate limits: each has CLIMASENSE_LIMIT_<NAME> (requests) and ..._WINDOW (seconds).
RATE_LIMIT_MEANING = {
    "telemetry": "POST /v1/telemetry per device",
    "settings_get": "GET /v1/settings per device",
    "commands_pending": "GET /v1/commands/pending per device",
    "ota_check": "GET /v1/ota/check per device",
    "ota_download": "firmware downloads per device",
    "default": "any other /v1 endpoint per device",
}

# Variables read by client commands (`climasense simulate`, remote CLI), not by the server.
CLIENT_VARIABLES = {
    "CLIMASENSE_URL": "Server URL used by client commands (`climasense simulate --url`).",
    "CLIMASENSE_TOKEN": "Operator token used by client commands (`climasense simulate --token`).",
}
# Variables read by libraries we use, documented with ours.
LIBRARY_VARIABLES = {
    "AWS_ACCESS_KEY_ID": "S3 credentials, read by the AWS SDK (aiobotocore) for s3:// blob URLs.",
    "AWS_SECRET_ACCESS_KEY": "S3 credentials, read by the AWS SDK (aiobotocore).",
}


@dataclass(frozen=True, slots=True)
class Settings:
    database_url: str | None = setting(
        None,
        "CLIMASENSE_DATABASE_URL",
        "PostgreSQL URL; unset: `climasense serve` starts an embedded PostgreSQL in the data folder.",
    )
    data_dir: Path = setting(
        Path(".climasense"),
        "CLIMASENSE_DATA_DIR",
        "Folder for the embedded database, the generated secret and local firmware.",
    )
    pg_bindir: Path | None = setting(
        None,
        "CLIMASENSE_PG_BINDIR",
        "Folder with initdb/pg_ctl for the embedded PostgreSQL; unset: found on the system.",
    )
    redis_url: str | None = setting(
        None,
        "CLIMASENSE_REDIS_URL",
        "Redis URL for rate limits shared by all processes; unset: limits kept in memory.",
    )
    blob_url: str | None = setting(
        None,
        "CLIMASENSE_BLOB_URL",
        "Firmware store: file:///path or s3://bucket/prefix; unset: <data_dir>/firmware.",
    )
    s3_endpoint_url: str | None = setting(
        None,
        "CLIMASENSE_S3_ENDPOINT_URL",
        "Endpoint of an S3-compatible store (MinIO, R2); unset: AWS.",
    )
    secret_key: str | None = setting(
        None,
        "CLIMASENSE_SECRET_KEY",
        "Server secret (>= 32 random characters) that keys API-key hashes; required with a "
        "database URL, else generated once in the data folder.",
    )
    db_pool_min: int = setting(
        2, "CLIMASENSE_DB_POOL_MIN", "Database connections kept open per process.", minimum=1
    )
    db_pool_max: int = setting(
        10, "CLIMASENSE_DB_POOL_MAX", "Most database connections per process.", minimum=1
    )
    device_body_limit: int = setting(
        256 * 1024, "CLIMASENSE_DEVICE_BODY_LIMIT", "Largest /v1 request body, in bytes.", minimum=1
    )
    operator_body_limit: int = setting(
        1048576,
        "CLIMASENSE_OPERATOR_BODY_LIMIT",
        "Largest operator API request body (not firmware uploads), in bytes.",
        minimum=1,
    )
    request_read_timeout_seconds: float = setting(
        30.0,
        "CLIMASENSE_REQUEST_READ_TIMEOUT_SECONDS",
        "Time a client has to send a request's headers and body.",
        minimum=0.1,
    )
    max_concurrent_connections: int = setting(
        2048,
        "CLIMASENSE_MAX_CONNECTIONS",
        "Open connections per process before new ones are refused.",
        minimum=1,
    )
    auth_cache_seconds: float = setting(
        300.0,
        "CLIMASENSE_AUTH_CACHE_SECONDS",
        "How long a verified device key stays in the in-process cache.",
        minimum=0.0,
    )
    revocation_poll_seconds: float = setting(
        1.0,
        "CLIMASENSE_REVOCATION_POLL_SECONDS",
        "How often each process polls for revoked keys.",
        minimum=0.01,
    )
    backfill_days: int = setting(
        90, "CLIMASENSE_BACKFILL_DAYS", "Oldest reading accepted, in days before now.", minimum=1
    )
    future_tolerance_seconds: int = setting(
        300,
        "CLIMASENSE_FUTURE_TOLERANCE_SECONDS",
        "How far in the future a reading's timestamp may be (device clock skew).",
        minimum=0,
    )
    rate_limits: dict[str, RateLimit] = field(default_factory=_default_limits)
    failed_auth_limit: RateLimit = _FAILED_AUTH_DEFAULT
    trusted_proxies: tuple[str, ...] = setting(
        (),
        "CLIMASENSE_TRUSTED_PROXIES",
        "Comma list of proxy IPs/CIDRs whose X-Forwarded-For / X-Forwarded-Proto are believed.",
    )
    public_url: str | None = setting(
        None,
        "CLIMASENSE_PUBLIC_URL",
        "The server's external URL (https://...), used for absolute links; unset: from the request.",
    )
    retention_days: int = setting(
        400,
        "CLIMASENSE_RETENTION_DAYS",
        "Telemetry kept, in days (older partitions dropped).",
        minimum=1,
    )
    partition_days: int = setting(
        7, "CLIMASENSE_PARTITION_DAYS", "Days per telemetry partition.", minimum=1
    )
    ingest_max_wait_ms: float = setting(
        2.0,
        "CLIMASENSE_INGEST_MAX_WAIT_MS",
        "Longest a reading waits for its group commit, in milliseconds.",
        minimum=0.0,
    )
    ingest_max_pending_readings: int = setting(
        200_000,
        "CLIMASENSE_INGEST_MAX_PENDING_READINGS",
        "Readings queued for writing before /v1/telemetry answers 503.",
        minimum=1,
    )
    ingest_max_batch_readings: int = setting(
        5_000, "CLIMASENSE_INGEST_MAX_BATCH_READINGS", "Readings per group commit.", minimum=1
    )
    ingest_concurrency: int = setting(
        1, "CLIMASENSE_INGEST_CONCURRENCY", "Group commits in flight at once.", minimum=1
    )
    max_sensors_per_hub: int = setting(
        64, "CLIMASENSE_MAX_SENSORS_PER_HUB", "Most sensors one hub may carry.", minimum=1
    )
    hub_sensors_page_size: int = setting(
        100,
        "CLIMASENSE_HUB_SENSORS_PAGE_SIZE",
        "Sensors per page of a hub's sensor list.",
        minimum=1,
    )
    run_worker: bool = setting(
        True,
        "CLIMASENSE_RUN_WORKER",
        "Run the background worker (alerts, webhooks, expiry): `serve` starts it as its own "
        "process beside the API processes (an app run by uvicorn directly runs it in-process).",
    )
    dashboard_session_hours: int = setting(
        12, "CLIMASENSE_DASHBOARD_SESSION_HOURS", "Lifetime of a dashboard login.", minimum=1
    )
    log_level: str = setting(
        "info", "CLIMASENSE_LOG_LEVEL", "Log level: debug, info, warning, error."
    )
    log_format: str = setting(
        "text", "CLIMASENSE_LOG_FORMAT", "Log line format: text or json (one JSON object a line)."
    )
    metrics_token: str | None = setting(
        None,
        "CLIMASENSE_METRICS_TOKEN",
        "Bearer token that /metrics requires; unset: /metrics asks for no token.",
    )
    webhook_allow_private_networks: bool = setting(
        False,
        "CLIMASENSE_WEBHOOK_ALLOW_PRIVATE_NETWORKS",
        "Let webhooks target loopback/private/link-local addresses (refused by default).",
    )
    # OTA: firmware store tuning, rollout safety, signatures.
    s3_region: str | None = setting(
        None,
        ("AWS_REGION", "AWS_DEFAULT_REGION"),
        "Region of the S3 bucket; unset: us-east-1.",
    )
    s3_part_size: int = setting(
        8 * 1024 * 1024,
        "CLIMASENSE_S3_PART_SIZE",
        "Multipart upload part size for S3, in bytes (S3's minimum is 5 MiB).",
        minimum=5 * 1024 * 1024,
    )
    s3_max_connections: int = setting(
        64, "CLIMASENSE_S3_MAX_CONNECTIONS", "Connections to S3 per process.", minimum=1
    )
    firmware_max_bytes: int = setting(
        1024 * 1024 * 1024,
        "CLIMASENSE_FIRMWARE_MAX_BYTES",
        "Largest firmware image, in bytes.",
        minimum=1,
    )
    firmware_public_keys: tuple[str, ...] = setting(
        (),
        "CLIMASENSE_FIRMWARE_PUBLIC_KEYS",
        "Comma list of base64 Ed25519 public keys that may sign firmware.",
    )
    firmware_require_signature: bool = setting(
        False,
        "CLIMASENSE_FIRMWARE_REQUIRE_SIGNATURE",
        "Refuse firmware uploads without a valid signature.",
    )
    ota_failure_threshold_percent: float = setting(
        20.0,
        "CLIMASENSE_OTA_FAILURE_THRESHOLD_PERCENT",
        "Failed share of finished updates (0..100) that pauses a release.",
        minimum=0.0,
    )
    ota_min_finished: int = setting(
        5,
        "CLIMASENSE_OTA_MIN_FINISHED",
        "Finished updates before the failure threshold applies.",
        minimum=1,
    )
    ota_stuck_seconds: int = setting(
        2 * 3600,
        "CLIMASENSE_OTA_STUCK_SECONDS",
        "An update with no progress for this long counts as failed.",
        minimum=1,
    )
    alerts: AlertSettings = field(default_factory=AlertSettings)

    def __post_init__(self) -> None:
        if self.secret_key is not None and (
            self.secret_key.strip().lower() in _PLACEHOLDER_SECRETS or len(self.secret_key) < 32
        ):
            raise ConfigurationError(
                "CLIMASENSE_SECRET_KEY must be a random string of at least 32 characters "
                "(generate one with: python -c 'import secrets; print(secrets.token_urlsafe(48))')"
            )
        if not 0 <= self.ota_failure_threshold_percent <= 100:
            raise ConfigurationError("CLIMASENSE_OTA_FAILURE_THRESHOLD_PERCENT must be 0..100")
        if self.log_format not in LOG_FORMATS:
            raise ConfigurationError(
                f"CLIMASENSE_LOG_FORMAT must be one of {', '.join(LOG_FORMATS)}, "
                f"got {self.log_format!r}"
            )
        if self.db_pool_min > self.db_pool_max:
            raise ConfigurationError(
                "CLIMASENSE_DB_POOL_MIN must not exceed CLIMASENSE_DB_POOL_MAX"
            )
        if self.public_url is not None and not re.match(
            r"\Ahttps?://[^/?#@\s]+/?\Z", self.public_url
        ):
            raise ConfigurationError(
                "CLIMASENSE_PUBLIC_URL must be an origin like https://fleet.example.com"
            )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, *, load_dotenv: bool = True
    ) -> Settings:
        """Settings from `environ` (default: the process environment, after `.env`)."""
        if environ is None:
            environ = _read_process_environment(load_dotenv)
        env = {name: value for name, value in environ.items() if value != ""}
        values = _values_from(cls, env)
        limits = _default_limits()
        for endpoint, current in list(limits.items()):
            name = f"CLIMASENSE_LIMIT_{endpoint.upper()}"
            limits[endpoint] = RateLimit(
                _convert(env, name, int, current.limit, 1),
                _convert(env, name + "_WINDOW", int, current.window_seconds, 1),
            )
        values["rate_limits"] = limits
        values["failed_auth_limit"] = RateLimit(
            _convert(env, FAILED_AUTH_VARIABLE, int, _FAILED_AUTH_DEFAULT.limit, 1),
            _FAILED_AUTH_DEFAULT.window_seconds,
        )
        values["alerts"] = AlertSettings(**_values_from(AlertSettings, env))
        return cls(**values)

    def with_overrides(self, **changes: object) -> Self:
        return replace(self, **changes)  # type: ignore[arg-type]

    def runtime(self) -> RuntimeSettings:
        """These settings with a database URL that is known (the app is built from these)."""
        if isinstance(self, RuntimeSettings):
            return self
        if self.database_url is None:
            raise ConfigurationError(
                "the app needs a database URL: set CLIMASENSE_DATABASE_URL, or start it with "
                "`climasense serve`, which runs the embedded PostgreSQL"
            )
        values = {f.name: getattr(self, f.name) for f in fields(self)}
        return RuntimeSettings(**values)

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


@dataclass(frozen=True, slots=True, kw_only=True)
class RuntimeSettings(Settings):
    """Settings whose database URL is resolved: what `create_app` and `Services` hold."""

    database_url: str


FAILED_AUTH_VARIABLE = "CLIMASENSE_FAILED_AUTH_LIMIT"


# --- reading ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Variable:
    """One environment variable: its name(s), meaning, default and the field it sets."""

    names: tuple[str, ...]
    meaning: str
    default: object
    type_name: str
    field_path: str
    minimum: float | None = None


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _values_from(cls: type, env: Mapping[str, str]) -> dict[str, Any]:
    hints = _hints(cls)
    values: dict[str, Any] = {}
    for f in fields(cls):
        names = f.metadata.get("env")
        if not names:
            continue
        for name in names:
            if name in env:
                values[f.name] = _convert(
                    env, name, hints[f.name], f.default, f.metadata.get("minimum")
                )
                break
    return values


def _convert(env: Mapping[str, str], name: str, kind: Any, default: Any, minimum: Any) -> Any:
    from pydantic import Field, TypeAdapter, ValidationError

    raw = env.get(name)
    if raw is None:
        return default
    value: object = raw
    if typing.get_origin(kind) is tuple:
        value = tuple(part.strip() for part in raw.split(",") if part.strip())
    constraints: dict[str, Any] = {"allow_inf_nan": False} if kind is float else {}
    if minimum is not None:
        constraints["ge"] = minimum
    adapter: TypeAdapter[Any] = TypeAdapter(Annotated[kind, Field(**constraints)])
    try:
        return adapter.validate_python(value)
    except ValidationError as exc:
        problem = exc.errors()[0]["msg"]
        problem = problem[0].lower() + problem[1:]
        if kind is float and problem.startswith("input should be a finite"):
            problem = f"input should be a finite number >= {minimum}"
        raise ConfigurationError(f"{name}: {problem}, got {raw!r}") from None


def _read_process_environment(load_dotenv: bool) -> dict[str, str]:
    """The variables we know, from the process environment (and `.env`), via pydantic-settings.

    `.env` is also loaded into the process environment (never over a set variable), as before,
    so libraries that read their own variables there (the AWS SDK) see it too.
    """
    from pydantic import Field, create_model
    from pydantic_settings import BaseSettings, SettingsConfigDict

    if load_dotenv:
        from dotenv import load_dotenv as _load

        _load(override=False)
    names = [name for variable in variables() for name in variable.names]
    definitions: dict[str, Any] = {
        f"v{index}": (str | None, Field(None, validation_alias=name))
        for index, name in enumerate(names)
    }

    class _Base(BaseSettings):
        model_config = SettingsConfigDict(
            case_sensitive=True,
            extra="ignore",
            env_file=".env" if load_dotenv else None,
            env_file_encoding="utf-8",
        )

    reader = create_model("ProcessEnvironment", __base__=_Base, **definitions)
    loaded = reader()
    return {
        name: value
        for index, name in enumerate(names)
        if (value := getattr(loaded, f"v{index}")) is not None
    }


# --- the list of variables (for docs/configuration.md and its drift test) --------------------


def _type_name(kind: Any) -> str:
    text = str(kind).replace("typing.", "").replace("pathlib.", "")
    return {
        "<class 'str'>": "string",
        "<class 'int'>": "integer",
        "<class 'float'>": "number",
        "<class 'bool'>": "boolean",
        "<class 'Path'>": "path",
        "str | None": "string, optional",
        "Path | None": "path, optional",
        "tuple[str, ...]": "comma list",
    }.get(text, text)


def _show(value: object) -> str:
    if value is None or value == ():
        return "unset"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and math.isfinite(value) and value == int(value):
        return str(value)
    return str(value)


def _fields_of(cls: type, prefix: str) -> Iterator[Variable]:
    hints = _hints(cls)
    for f in fields(cls):
        names = f.metadata.get("env")
        if not names:
            continue
        default = f.default if f.default is not MISSING else None
        yield Variable(
            names=tuple(names),
            meaning=f.metadata["meaning"],
            default=default,
            type_name=_type_name(hints[f.name]),
            field_path=prefix + f.name,
            minimum=f.metadata.get("minimum"),
        )


def variables() -> list[Variable]:
    """Every variable the server reads, in declaration order."""
    found = list(_fields_of(Settings, ""))
    for endpoint, limit in _default_limits().items():
        name = f"CLIMASENSE_LIMIT_{endpoint.upper()}"
        meaning = RATE_LIMIT_MEANING[endpoint]
        found.append(
            Variable(
                (name,),
                f"Requests allowed: {meaning}.",
                limit.limit,
                "integer",
                f"rate_limits[{endpoint!r}].limit",
            )
        )
        found.append(
            Variable(
                (name + "_WINDOW",),
                f"Window of {name}, in seconds.",
                limit.window_seconds,
                "integer",
                f"rate_limits[{endpoint!r}].window_seconds",
            )
        )
    failed = _FAILED_AUTH_DEFAULT
    found.append(
        Variable(
            (FAILED_AUTH_VARIABLE,),
            f"Failed device authentications per client address per {failed.window_seconds} s "
            "before 429.",
            failed.limit,
            "integer",
            "failed_auth_limit.limit",
        )
    )
    found.extend(_fields_of(AlertSettings, "alerts."))
    return found


__all__ = [
    "CLIENT_VARIABLES",
    "LIBRARY_VARIABLES",
    "RateLimit",
    "RuntimeSettings",
    "Settings",
    "Variable",
    "variables",
]
