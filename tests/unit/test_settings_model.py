"""Settings: one declaration per variable, checked at start; the app gets a resolved URL."""

from __future__ import annotations

from pathlib import Path

import pytest

from climasense.errors import ConfigurationError
from climasense.settings import RateLimit, RuntimeSettings, Settings, variables

SECRET = "s" * 40


def test_constructing_settings_does_not_read_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CLIMASENSE_RETENTION_DAYS", "3")
    monkeypatch.setenv("CLIMASENSE_DATABASE_URL", "postgresql://elsewhere/db")
    settings = Settings(data_dir=Path("x"), secret_key=SECRET)
    assert settings.retention_days == 400
    assert settings.database_url is None


def test_defaults_of_from_env_are_the_declared_ones() -> None:
    assert Settings.from_env({}, load_dotenv=False) == Settings()


def test_every_field_is_read_from_its_variable() -> None:
    env = {
        "CLIMASENSE_TRUSTED_PROXIES": "10.0.0.1, 10.1.0.0/16",
        "CLIMASENSE_PUBLIC_URL": "https://climasense.example",
        "CLIMASENSE_OPERATOR_BODY_LIMIT": "2048",
        "CLIMASENSE_REQUEST_READ_TIMEOUT_SECONDS": "7.5",
        "CLIMASENSE_MAX_CONNECTIONS": "100",
        "CLIMASENSE_WEBHOOK_ALLOW_PRIVATE_NETWORKS": "true",
        "CLIMASENSE_METRICS_TOKEN": "m" * 20,
        "CLIMASENSE_LOG_FORMAT": "json",
        "CLIMASENSE_FIRMWARE_PUBLIC_KEYS": "a2V5MQ==,a2V5Mg==",
        "CLIMASENSE_FIRMWARE_REQUIRE_SIGNATURE": "1",
        "CLIMASENSE_RUN_WORKER": "no",
        "CLIMASENSE_LIMIT_OTA_DOWNLOAD_WINDOW": "60",
        "CLIMASENSE_FAILED_AUTH_LIMIT": "3",
        "CLIMASENSE_WEBHOOK_PER_ENDPOINT": "2",
        "AWS_DEFAULT_REGION": "eu-west-1",
    }
    settings = Settings.from_env(env, load_dotenv=False)
    assert settings.trusted_proxies == ("10.0.0.1", "10.1.0.0/16")
    assert settings.public_url == "https://climasense.example"
    assert settings.operator_body_limit == 2048
    assert settings.request_read_timeout_seconds == 7.5
    assert settings.max_concurrent_connections == 100
    assert settings.webhook_allow_private_networks is True
    assert settings.metrics_token == "m" * 20
    assert settings.log_format == "json"
    assert settings.firmware_public_keys == ("a2V5MQ==", "a2V5Mg==")
    assert settings.firmware_require_signature is True
    assert settings.run_worker is False
    assert settings.rate_limits["ota_download"] == RateLimit(5, 60)
    assert settings.failed_auth_limit == RateLimit(3, 60)
    assert settings.alerts.webhook_per_endpoint == 2
    assert settings.s3_region == "eu-west-1"


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CLIMASENSE_LOG_FORMAT", "xml"),
        ("CLIMASENSE_RUN_WORKER", "perhaps"),
        ("CLIMASENSE_SECRET_KEY", "changeme"),
        ("CLIMASENSE_SECRET_KEY", "too-short"),
        ("CLIMASENSE_OTA_FAILURE_THRESHOLD_PERCENT", "101"),
        ("CLIMASENSE_MAX_CONNECTIONS", "0"),
        ("CLIMASENSE_S3_PART_SIZE", "1024"),
        ("CLIMASENSE_LIMIT_TELEMETRY_WINDOW", "0"),
        ("CLIMASENSE_FAILED_AUTH_LIMIT", "many"),
        ("CLIMASENSE_WEBHOOK_RETRY_MAX_SECONDS", "inf"),
    ],
)
def test_nonsense_is_refused_naming_the_variable(name: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: raw}, load_dotenv=False)


def test_the_app_gets_settings_with_a_known_database_url() -> None:
    with pytest.raises(ConfigurationError, match="database URL"):
        Settings().runtime()
    runtime = Settings(database_url="postgresql://db/x").runtime()
    assert isinstance(runtime, RuntimeSettings)
    assert runtime.database_url == "postgresql://db/x"
    assert isinstance(runtime.with_overrides(run_worker=False), RuntimeSettings)


def test_every_variable_has_a_meaning_and_a_unique_name() -> None:
    names = [name for variable in variables() for name in variable.names]
    assert len(names) == len(set(names))
    assert all(variable.meaning.endswith(".") for variable in variables())
