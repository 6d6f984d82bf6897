from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from climasense.web.charts import (
    line_chart,
    nice_ticks,
    points_of,
    progress_bar,
    segments,
    tick_labels,
)
from climasense.web.rollout import Segment
from climasense.web.views import Bucket

END = datetime(2026, 5, 1, 12, tzinfo=UTC)
START = END - timedelta(hours=24)
FIVE = timedelta(minutes=5)


def bucket(minutes: int, avg: float) -> Bucket:
    start = START + timedelta(minutes=minutes)
    return Bucket.from_json(
        {
            "start": start.isoformat(),
            "sensor_type": "temperature",
            "count": 3,
            "avg": avg,
            "min": avg - 1,
            "max": avg + 1,
        }
    )


def test_nice_ticks_cover_the_range_with_round_steps() -> None:
    assert nice_ticks(12.3, 19.8) == [12.0, 14.0, 16.0, 18.0, 20.0]
    assert nice_ticks(0, 100) == [0, 25, 50, 75, 100]
    flat = nice_ticks(5, 5)
    assert flat[0] <= 4
    assert flat[-1] >= 6


def test_tick_labels_never_repeat() -> None:
    assert tick_labels(nice_ticks(23.5, 23.65)) == ["23.50", "23.55", "23.60", "23.65"]
    assert tick_labels([0, 2.5, 5]) == ["0.0", "2.5", "5.0"]
    assert tick_labels([1000, 1010, 1020]) == ["1000", "1010", "1020"]
    assert tick_labels(nice_ticks(0, 1)) == ["0.00", "0.25", "0.50", "0.75", "1.00"]


def test_points_are_sorted_and_skip_malformed_buckets() -> None:
    malformed = [Bucket.from_json({"start": "nonsense", "avg": 3}), Bucket.from_json({"avg": None})]
    found = points_of([bucket(10, 2), bucket(0, 1), *malformed])
    assert [p.avg for p in found] == [1, 2]


def test_a_bucket_without_min_and_max_spans_its_average() -> None:
    (point,) = points_of([Bucket.from_json({"start": START.isoformat(), "avg": 4})])
    assert (point.low, point.avg, point.high) == (4.0, 4.0, 4.0)


def test_gaps_split_the_line() -> None:
    runs = segments(points_of([bucket(0, 1), bucket(5, 1), bucket(10, 1), bucket(60, 1)]), FIVE)
    assert [len(r) for r in runs] == [3, 1]


def test_a_device_reporting_less_often_than_a_bucket_is_one_line() -> None:
    # Every 10 min into 5-minute buckets: every other bucket is empty, yet it is not a gap.
    every_ten = points_of([bucket(m, 1) for m in range(0, 60, 10)] + [bucket(120, 1)])
    assert [len(r) for r in segments(every_ten, FIVE)] == [1] * 7
    runs = segments(every_ten, FIVE, expected=timedelta(minutes=10))
    assert [len(r) for r in runs] == [6, 1]  # still split where it was quiet for an hour


def test_chart_draws_a_line_a_band_and_axes() -> None:
    svg = str(
        line_chart(
            "temperature",
            [bucket(m, 15 + m / 100) for m in range(0, 600, 5)],
            start=START,
            end=END,
            bucket=FIVE,
        )
    )
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    assert 'data-points="120"' in svg
    [line] = re.findall(r'<polyline class="line" points="([^"]+)"', svg)
    xs = [float(p.split(",")[0]) for p in line.split()]
    assert xs == sorted(xs)
    assert len(xs) == 120
    assert '<polygon class="band"' in svg
    assert "Temperature (°C)" in svg
    assert "style=" not in svg  # renders under a CSP without 'unsafe-inline'


def test_higher_values_are_drawn_higher() -> None:
    svg = str(
        line_chart("humidity", [bucket(0, 10), bucket(5, 90)], start=START, end=END, bucket=FIVE)
    )
    [line] = re.findall(r'<polyline class="line" points="([^"]+)"', svg)
    (_, y_low), (_, y_high) = (tuple(map(float, p.split(","))) for p in line.split())
    assert y_high < y_low


def test_empty_chart_says_so() -> None:
    svg = str(line_chart("pressure", [], start=START, end=END, bucket=FIVE))
    assert "No readings in this period" in svg
    assert 'data-points="0"' in svg


def test_chart_escapes_what_it_is_given() -> None:
    svg = str(line_chart('<script>"x"', [bucket(0, 1)], start=START, end=END, bucket=FIVE))
    assert "<script>" not in svg


def test_progress_bar_stacks_segments_by_share() -> None:
    svg = str(
        progress_bar(
            [
                Segment(status="completed", count=3, percent=30.0),
                Segment(status="failed", count=1, percent=10.0),
            ]
        )
    )
    assert 'class="seg seg-completed" data-status="completed" x="0.00" y="0" width="30.00"' in svg
    assert 'data-status="failed" x="30.00" y="0" width="10.00"' in svg


def test_shore_power_has_an_off_on_axis() -> None:
    svg = str(
        line_chart(
            "power_availability",
            [bucket(0, 1), bucket(5, 0.5), bucket(10, 0)],
            start=START,
            end=END,
            bucket=FIVE,
        )
    )
    labels = re.findall(
        r'<text class="axis" x="46" y="[\d.]+" text-anchor="end">([^<]+)</text>', svg
    )
    assert labels == ["off", "on"]
