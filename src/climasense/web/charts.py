"""Line charts as inline SVG, drawn on the server from the bucketed telemetry query.

Each chart shows the bucket averages as a line over a band from the bucket minimum to maximum,
on a time axis covering the whole requested range (so a quiet device shows as a gap, not as a
stretched line). No script, no style attributes: it renders under a strict CSP.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from markupsafe import Markup, escape

from climasense.web.format import UNITS, label, parse_time
from climasense.web.rollout import Segment
from climasense.web.views import Bucket

WIDTH = 640
HEIGHT = 180
_LEFT, _RIGHT, _TOP, _BOTTOM = 52, 12, 14, 26
_ON_OFF = {"power_availability"}


@dataclass(frozen=True, slots=True)
class Point:
    start: datetime
    avg: float
    low: float
    high: float


def points_of(buckets: Iterable[Bucket]) -> list[Point]:
    found: list[Point] = []
    for bucket in buckets:
        start = parse_time(bucket.start)
        avg = bucket.avg
        if start is None or not isinstance(avg, int | float):
            continue
        found.append(Point(start, float(avg), float(bucket.low), float(bucket.high)))
    found.sort(key=lambda p: p.start)
    return found


def nice_ticks(low: float, high: float, count: int = 4) -> list[float]:
    """Round tick values covering [low, high] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if math.isclose(low, high):
        low, high = low - 1, high + 1
    raw = (high - low) / max(count, 1)
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step) * step
    ticks = []
    value = first
    while value <= high + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    if ticks[-1] < high:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def segments(
    points: list[Point], bucket: timedelta, expected: timedelta | None = None
) -> list[list[Point]]:
    """Split where the device was quiet, so the line does not bridge a gap in reporting: more
    than 1.5 buckets apart, or more than two reporting intervals (`expected`) for a device that
    reports less often than once a bucket."""
    allowed = max(bucket * 1.5, (expected or timedelta(0)) * 2)
    runs: list[list[Point]] = []
    for point in points:
        if runs and point.start - runs[-1][-1].start <= allowed:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def tick_labels(ticks: list[float]) -> list[str]:
    """Tick values with as many decimals as their step needs (0.05 apart → two), so that
    neighbouring ticks never read the same."""
    step = abs(ticks[1] - ticks[0]) if len(ticks) > 1 else 1.0
    decimals = next((d for d in range(5) if math.isclose(round(step, d), step)), 4)
    return [f"{tick:.{decimals}f}" for tick in ticks]


def line_chart(
    sensor_type: str,
    buckets: Iterable[Bucket],
    *,
    start: datetime,
    end: datetime,
    bucket: timedelta,
    reporting_interval: timedelta | None = None,
) -> Markup:
    points = points_of(buckets)
    title = label(sensor_type)
    unit = UNITS.get(sensor_type, "")
    heading = f"{title} ({unit})" if unit else title
    plot_w, plot_h = WIDTH - _LEFT - _RIGHT, HEIGHT - _TOP - _BOTTOM
    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'data-sensor-type="{escape(sensor_type)}" data-points="{len(points)}" '
        f'aria-label="{escape(heading)}">',
        f"<title>{escape(heading)}</title>",
    ]
    if not points:
        parts.append(
            f'<text class="chart-empty" x="{WIDTH / 2}" y="{HEIGHT / 2}" text-anchor="middle">'
            "No readings in this period</text></svg>"
        )
        return Markup("".join(parts))  # noqa: S704 (text escaped above, the rest numbers)
    lows = [p.low for p in points]
    highs = [p.high for p in points]
    if sensor_type in _ON_OFF:  # 0 or 1: an off/on axis, not 0.0 … 2.0
        ticks, labels = [0.0, 1.0], ["off", "on"]
    else:
        ticks = nice_ticks(min(lows), max(highs))
        labels = tick_labels(ticks)
    y_min, y_max = ticks[0], ticks[-1]
    span = (end - start).total_seconds() or 1.0

    def x(moment: datetime) -> float:
        offset = (moment - start).total_seconds() + bucket.total_seconds() / 2
        return round(_LEFT + plot_w * min(max(offset / span, 0.0), 1.0), 1)

    def y(value: float) -> float:
        return round(_TOP + plot_h * (1 - (value - y_min) / ((y_max - y_min) or 1)), 1)

    for tick, tick_text in zip(ticks, labels, strict=True):
        parts.append(
            f'<line class="grid" x1="{_LEFT}" x2="{WIDTH - _RIGHT}" y1="{y(tick)}" y2="{y(tick)}"/>'
            f'<text class="axis" x="{_LEFT - 6}" y="{y(tick) + 4}" text-anchor="end">'
            f"{escape(tick_text)}</text>"
        )
    for i in range(5):
        moment = start + (end - start) * i / 4
        label_text = (
            moment.astimezone(UTC).strftime("%H:%M")
            if span <= 2 * 86400
            else moment.astimezone(UTC).strftime("%d %b")
        )
        xpos = round(_LEFT + plot_w * i / 4, 1)
        anchor = "start" if i == 0 else "end" if i == 4 else "middle"
        parts.append(
            f'<text class="axis" x="{xpos}" y="{HEIGHT - 8}" text-anchor="{anchor}">'
            f"{escape(label_text)}</text>"
        )
    for run in segments(points, bucket, reporting_interval):
        upper = " ".join(f"{x(p.start)},{y(p.high)}" for p in run)
        lower = " ".join(f"{x(p.start)},{y(p.low)}" for p in reversed(run))
        parts.append(f'<polygon class="band" points="{upper} {lower}"/>')
        line = " ".join(f"{x(p.start)},{y(p.avg)}" for p in run)
        if len(run) == 1:
            parts.append(
                f'<circle class="dot" cx="{x(run[0].start)}" cy="{y(run[0].avg)}" r="2.5"/>'
            )
        else:
            parts.append(f'<polyline class="line" points="{line}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (text escaped above, the rest numbers)


def progress_bar(segments_: Iterable[Segment]) -> Markup:
    """A stacked bar (SVG, percentages of its width): one rect per status with a share."""
    parts = [
        '<svg class="progress" viewBox="0 0 100 6" preserveAspectRatio="none" role="img" '
        'aria-label="rollout progress"><rect class="track" x="0" y="0" width="100" height="6"/>'
    ]
    offset = 0.0
    for segment in segments_:
        share = float(segment.percent)
        parts.append(
            f'<rect class="seg seg-{escape(segment.status)}" data-status="'
            f'{escape(segment.status)}" x="{offset:.2f}" y="0" width="{share:.2f}" height="6">'
            f"<title>{escape(segment.status)}: {int(segment.count)}</title></rect>"
        )
        offset += share
    parts.append("</svg>")
    return Markup("".join(parts))  # noqa: S704 (text escaped above, the rest numbers)
