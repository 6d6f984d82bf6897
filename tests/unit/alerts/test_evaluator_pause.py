"""The evaluator's pause between batches: none on a backlog, short while busy, long when idle."""

from __future__ import annotations

from climasense.alert_settings import AlertSettings
from climasense.alerts.evaluator import pause_after
from climasense.settings import Settings

SETTINGS = AlertSettings(poll_seconds=0.1, busy_poll_seconds=0.02, batch_size=500)


def test_full_batch_goes_on_at_once() -> None:
    assert pause_after(500, SETTINGS) == 0.0


def test_partial_batch_looks_again_soon() -> None:
    assert pause_after(1, SETTINGS) == 0.02
    assert pause_after(499, SETTINGS) == 0.02


def test_empty_outbox_polls_at_the_idle_interval() -> None:
    assert pause_after(0, SETTINGS) == 0.1


def test_busy_poll_never_slower_than_idle_poll() -> None:
    fast_idle = AlertSettings(poll_seconds=0.01, busy_poll_seconds=0.02)
    assert pause_after(3, fast_idle) == 0.01


def test_busy_poll_from_environment() -> None:
    settings = Settings.from_env(
        {"CLIMASENSE_ALERT_BUSY_POLL_SECONDS": "0.005"}, load_dotenv=False
    ).alerts
    assert settings.busy_poll_seconds == 0.005
    assert Settings.from_env({}, load_dotenv=False).alerts.busy_poll_seconds == 0.02
