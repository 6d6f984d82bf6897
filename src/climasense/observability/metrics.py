"""Prometheus metrics (CONTRACT §10): the series, the one-line hooks that feed them, `/metrics`.

Nothing is created at import: `install()` builds the series once per process (the app's
lifespan and `climasense worker` call it). Until then every hook is a no-op, which is also how
the benchmark measures the cost of the whole thing (bench/observability.py).

**One scrape sees every process.** `climasense serve --workers N` points
`PROMETHEUS_MULTIPROC_DIR` at a fresh directory before the processes start; prometheus-client
then keeps each process's values in memory-mapped files there, and `render` sums them
(`MultiProcessCollector`). Without that variable (tests, an app embedded elsewhere) the values
live in this process only.

**The hot path stays cheap**: a request adds to in-process dictionaries, which `flush` moves
into the library's series once a second (bench/observability.py measures the whole cost). Gauges that describe the
database (alert outbox rows, open alerts) are read when scraped, not maintained by requests.
"""

from __future__ import annotations

import asyncio
import hmac
import os
from bisect import bisect_left
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncpg
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"

# Latency buckets (seconds) for HTTP requests and group commits: a device request is a few
# milliseconds, a commit under load tens of milliseconds, a firmware download minutes.
_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 60.0)


@dataclass
class _Series:
    registry: CollectorRegistry
    multiprocess_dir: str | None
    http_requests: Counter
    http_duration: Histogram
    readings: Counter
    ingest_commit: Histogram
    ingest_pending: Gauge
    rate_limited: Counter
    auth_failures: Counter
    webhook_deliveries: Counter
    ota_bytes: Counter
    # (route, method, status) -> (counter child, histogram child): see the module docstring.
    request_children: dict[tuple[str, str, int], tuple[Any, Any]] = field(default_factory=dict)
    accepted: Any = None
    rejected: Any = None
    duplicate: Any = None


_series: _Series | None = None
# Per-request counts not yet in the shared series (see `flush`).
_pending_requests: dict[tuple[str, str, int], list[Any]] = {}
_pending_readings = [0, 0, 0]
# Group commits not yet in the shared histogram: [count, seconds, per-bucket counts].
_pending_commits: list[Any] = [0, 0.0, [0] * (len(_BUCKETS) + 1)]
# The ingest writer's latest pending count, set into the shared gauge by `flush` (None: no
# change since).
_pending_gauge: list[int | None] = [None]


def install() -> None:
    """Create the series of this process (idempotent)."""
    global _series
    if _series is not None:
        return
    from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, values

    # prometheus-client chooses its value store when first imported; `serve` may have set
    # PROMETHEUS_MULTIPROC_DIR after that, so choose again now.
    values.ValueClass = values.get_value_class()  # type: ignore[no-untyped-call]
    registry = CollectorRegistry(auto_describe=True)
    series = _Series(
        registry=registry,
        multiprocess_dir=os.environ.get(MULTIPROC_ENV) or None,
        http_requests=Counter(
            "climasense_http_requests",
            "HTTP requests answered, by route template, method and status.",
            ["route", "method", "status"],
            registry=registry,
        ),
        http_duration=Histogram(
            "climasense_http_request_duration_seconds",
            "Time from request to the end of the response, by route template.",
            ["route", "method"],
            buckets=_BUCKETS,
            registry=registry,
        ),
        readings=Counter(
            "climasense_readings",
            "Readings received on POST /v1/telemetry: accepted (repeats included, as in the "
            "response), rejected, duplicate.",
            ["outcome"],
            registry=registry,
        ),
        ingest_commit=Histogram(
            "climasense_ingest_commit_duration_seconds",
            "Duration of one group commit of the ingest writer.",
            buckets=_BUCKETS,
            registry=registry,
        ),
        ingest_pending=Gauge(
            "climasense_ingest_pending_readings",
            "Readings accepted by the ingest writer and not yet answered (all live processes).",
            registry=registry,
            multiprocess_mode="livesum",
        ),
        rate_limited=Counter(
            "climasense_rate_limited",
            "Requests refused with 429, by policy.",
            ["policy"],
            registry=registry,
        ),
        auth_failures=Counter(
            "climasense_auth_failures",
            "Requests refused with 401 (device keys and operator tokens).",
            registry=registry,
        ),
        webhook_deliveries=Counter(
            "climasense_webhook_deliveries",
            "Webhook delivery attempts, by outcome (delivered, retry, failed).",
            ["outcome"],
            registry=registry,
        ),
        ota_bytes=Counter(
            "climasense_ota_download_bytes",
            "Firmware bytes sent to devices.",
            registry=registry,
        ),
    )
    series.accepted = series.readings.labels("accepted")
    series.rejected = series.readings.labels("rejected")
    series.duplicate = series.readings.labels("duplicate")
    _series = series


def installed() -> bool:
    return _series is not None


def uninstall() -> None:
    """Drop this process's series (tests)."""
    global _series
    _series = None
    _pending_requests.clear()
    _pending_readings[:] = [0, 0, 0]
    _pending_commits[:] = [0, 0.0, [0] * (len(_BUCKETS) + 1)]
    _pending_gauge[0] = None


def mark_process_dead() -> None:
    """At a clean exit: this process's live gauges stop counting in the sum."""
    flush()
    if _series is not None and _series.multiprocess_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(os.getpid(), _series.multiprocess_dir)  # type: ignore[no-untyped-call]


# -- hooks: one call at each source ------------------------------------------------------------


def observe_request(route: str, method: str, status: int, seconds: float) -> None:
    """Count one HTTP request (in this process's memory: see `flush`)."""
    if _series is None:
        return
    key = (route, method, status)
    pending = _pending_requests.get(key)
    if pending is None:
        pending = _pending_requests[key] = [0, 0.0, [0] * (len(_BUCKETS) + 1)]
    pending[0] += 1
    pending[1] += seconds
    pending[2][bisect_left(_BUCKETS, seconds)] += 1  # `le` buckets; the last one is +Inf


def readings(accepted: int, rejected: int, duplicates: int) -> None:
    if _series is None:
        return
    _pending_readings[0] += accepted
    _pending_readings[1] += rejected
    _pending_readings[2] += duplicates


def flush() -> None:
    """Move the per-request counts gathered in memory into the shared series.

    A multiprocess-mode update takes a lock and writes a memory-mapped file (~10 µs for a
    request's counter and histogram on the 2-core bench machine, ~6 % of a telemetry request):
    requests (and the ingest writer's commit durations and pending count) only add to plain
    dictionaries and lists, and this runs once a second (`flush_forever`),
    before every scrape this process answers, and at shutdown. A scrape served by another
    process may therefore miss up to the last second of this one's requests."""
    series = _series
    if series is None:
        return
    requests = dict(_pending_requests)
    _pending_requests.clear()
    for key, (count, total, buckets) in requests.items():
        children = series.request_children.get(key)
        if children is None:
            route, method, status = key
            children = series.request_children[key] = (
                series.http_requests.labels(route, method, str(status)),
                series.http_duration.labels(route, method),
            )
        counter, histogram = children
        counter.inc(count)
        _add_to_histogram(histogram, total, buckets)
    commits, seconds, buckets = _pending_commits
    if commits:
        _pending_commits[:] = [0, 0.0, [0] * (len(_BUCKETS) + 1)]
        _add_to_histogram(series.ingest_commit, seconds, buckets)
    pending, _pending_gauge[0] = _pending_gauge[0], None
    if pending is not None:
        series.ingest_pending.set(pending)
    accepted, rejected, duplicates = _pending_readings
    _pending_readings[:] = [0, 0, 0]
    if accepted:
        series.accepted.inc(accepted)
    if rejected:
        series.rejected.inc(rejected)
    if duplicates:
        series.duplicate.inc(duplicates)


def _add_to_histogram(histogram: Any, total: float, buckets: list[int]) -> None:
    # What Histogram.observe does per value, once per bucket (prometheus-client keeps
    # non-cumulative bucket counts and sums them when collected).
    for index, in_bucket in enumerate(buckets):
        if in_bucket:
            histogram._buckets[index].inc(in_bucket)
    histogram._sum.inc(total)


async def flush_forever(interval: float = 1.0) -> None:
    while True:
        await asyncio.sleep(interval)
        flush()


def ingest_commit(seconds: float) -> None:
    """One group commit's duration (in memory until `flush`, as requests)."""
    if _series is not None:
        _pending_commits[0] += 1
        _pending_commits[1] += seconds
        _pending_commits[2][bisect_left(_BUCKETS, seconds)] += 1


def ingest_pending(readings: int) -> None:
    """The writer's pending readings (the shared gauge takes the latest value at `flush`)."""
    if _series is not None:
        _pending_gauge[0] = readings


def rate_limited(policy: str) -> None:
    if _series is not None:
        _series.rate_limited.labels(policy).inc()


def auth_failure() -> None:
    if _series is not None:
        _series.auth_failures.inc()


def webhook_delivery(outcome: str) -> None:
    if _series is not None:
        _series.webhook_deliveries.labels(outcome).inc()


def ota_bytes(count: int) -> None:
    if _series is not None:
        _series.ota_bytes.inc(count)


# -- the scrape --------------------------------------------------------------------------------


def bearer_allowed(token: str | None, authorization: str | None) -> bool:
    """Whether a scrape may read /metrics (`CLIMASENSE_METRICS_TOKEN`, compared in constant
    time)."""
    if token is None:
        return True
    if authorization is None or not authorization.startswith("Bearer "):
        return False
    return hmac.compare_digest(authorization[7:].strip().encode(), token.encode())


async def database_gauges(pool: asyncpg.Pool) -> dict[str, float]:
    """The gauges that describe shared state, read at scrape time (one round trip)."""
    row = await pool.fetchrow(
        "SELECT (SELECT count(*) FROM alert_outbox) AS outbox,"
        " (SELECT count(*) FROM alerts WHERE state <> 'resolved') AS open_alerts"
    )
    return {
        "climasense_alert_outbox_rows": float(row["outbox"]),
        "climasense_alerts_open": float(row["open_alerts"]),
    }


_GAUGE_HELP = {
    "climasense_alert_outbox_rows": "Accepted readings not yet evaluated by the alert system.",
    "climasense_alerts_open": "Alerts not resolved (open or acknowledged).",
}


class _Snapshot:
    """A collector of values read just before the scrape (prometheus collectors are sync)."""

    def __init__(self, gauges: dict[str, float]) -> None:
        self.gauges = gauges

    def collect(self) -> Any:
        from prometheus_client.core import GaugeMetricFamily

        for name, value in self.gauges.items():
            yield GaugeMetricFamily(name, _GAUGE_HELP.get(name, name), value=value)


def render(gauges: dict[str, float] | None = None) -> bytes:
    """The exposition text: every process's series (summed) plus `gauges`."""
    install()
    assert _series is not None
    flush()
    from prometheus_client import CollectorRegistry, generate_latest

    registry = CollectorRegistry(auto_describe=False)
    if _series.multiprocess_dir:
        from prometheus_client import multiprocess

        multiprocess.MultiProcessCollector(registry, path=_series.multiprocess_dir)  # type: ignore[no-untyped-call]
    else:
        registry.register(_series.registry)
    if gauges:
        registry.register(_Snapshot(gauges))
    return generate_latest(registry)


def prepare_multiprocess_dir(path: str) -> None:
    """Empty (or create) the directory of a new `serve` run: values of a previous run must not
    be summed into this one."""
    os.makedirs(path, exist_ok=True)
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
