"""Numbers read from the environment (group-commit tuning, alert tuning), and refusals."""

from __future__ import annotations

import pytest

from climasense.errors import ConfigurationError
from climasense.settings import Settings


def test_ingest_defaults() -> None:
    settings = Settings.from_env({}, load_dotenv=False)
    assert settings.ingest_max_wait_ms == 2.0
    assert settings.ingest_concurrency == 1
    assert settings.ingest_max_batch_readings == 5_000
    assert settings.ingest_max_pending_readings == 200_000


def test_ingest_settings_from_environment() -> None:
    settings = Settings.from_env(
        {
            "CLIMASENSE_INGEST_MAX_WAIT_MS": "0.5",
            "CLIMASENSE_INGEST_CONCURRENCY": "3",
            "CLIMASENSE_INGEST_MAX_BATCH_READINGS": "1000",
            "CLIMASENSE_INGEST_MAX_PENDING_READINGS": "50000",
        },
        load_dotenv=False,
    )
    assert settings.ingest_max_wait_ms == 0.5
    assert settings.ingest_concurrency == 3
    assert settings.ingest_max_batch_readings == 1_000
    assert settings.ingest_max_pending_readings == 50_000


@pytest.mark.parametrize(
    ("name", "raw"),
    [
        ("CLIMASENSE_INGEST_MAX_WAIT_MS", "-1"),
        ("CLIMASENSE_INGEST_MAX_WAIT_MS", "nan"),
        ("CLIMASENSE_INGEST_MAX_WAIT_MS", "inf"),
        ("CLIMASENSE_INGEST_MAX_WAIT_MS", "soon"),
        ("CLIMASENSE_INGEST_CONCURRENCY", "0"),
        ("CLIMASENSE_INGEST_MAX_BATCH_READINGS", "ten"),
        # The alert settings read their numbers through the same helper.
        ("CLIMASENSE_ALERT_POLL_SECONDS", "inf"),
        ("CLIMASENSE_ALERT_BATCH_SIZE", "0"),
    ],
)
def test_bad_ingest_settings_are_refused_with_the_name(name: str, raw: str) -> None:
    with pytest.raises(ConfigurationError, match=name):
        Settings.from_env({name: raw}, load_dotenv=False)
