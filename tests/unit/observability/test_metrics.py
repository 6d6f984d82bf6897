"""The in-memory side of the metrics: hooks add up, `flush` moves the sums into the series."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from climasense.observability import metrics


@pytest.fixture
def installed(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    metrics.uninstall()
    metrics.install()
    yield
    metrics.uninstall()


def _value(text: str, series: str) -> float:
    return sum(
        float(line.rsplit(" ", 1)[1]) for line in text.splitlines() if line.startswith(series)
    )


@pytest.mark.usefixtures("installed")
def test_commit_durations_and_the_pending_gauge_reach_the_series_at_flush() -> None:
    """The ingest writer's hooks cost no write to the shared series (a lock and a mapped file
    in multiprocess mode): they wait in memory for `flush`, as the request counts do."""
    metrics.ingest_commit(0.003)
    metrics.ingest_commit(0.2)
    metrics.ingest_pending(7)
    metrics.ingest_pending(5)  # the latest value counts
    series = metrics._series
    assert series is not None
    assert series.ingest_commit._sum.get() == 0
    assert series.ingest_pending._value.get() == 0
    text = metrics.render().decode()  # flushes first
    assert _value(text, "climasense_ingest_commit_duration_seconds_count") == 2
    assert _value(text, "climasense_ingest_commit_duration_seconds_sum") == pytest.approx(0.203)
    assert _value(text, 'climasense_ingest_commit_duration_seconds_bucket{le="0.005"}') == 1
    assert _value(text, 'climasense_ingest_commit_duration_seconds_bucket{le="0.25"}') == 2
    assert _value(text, "climasense_ingest_pending_readings") == 5
    # Nothing new: the gauge keeps its value, the histogram its counts.
    metrics.flush()
    again = metrics.render().decode()
    assert _value(again, "climasense_ingest_pending_readings") == 5
    assert _value(again, "climasense_ingest_commit_duration_seconds_count") == 2
    metrics.ingest_pending(0)
    assert _value(metrics.render().decode(), "climasense_ingest_pending_readings") == 0


def test_hooks_do_nothing_before_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(metrics.MULTIPROC_ENV, raising=False)
    metrics.uninstall()
    metrics.ingest_commit(0.1)
    metrics.ingest_pending(3)
    metrics.install()
    try:
        text = metrics.render().decode()
        assert _value(text, "climasense_ingest_commit_duration_seconds_count") == 0
        assert _value(text, "climasense_ingest_pending_readings") == 0
    finally:
        metrics.uninstall()
