"""Telemetry answers are built by hand from typed results at the route: the operator read
(a page holds up to 10,000 points) must give the bytes of its declared response models, and
the device ingest answer the contract's members in order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from uuid import uuid4

from climasense.http.responses import dumps
from climasense.telemetry.operator_routes import buckets_document, points_document
from climasense.telemetry.query import BucketSeries, PointsPage, ReportedBucket, ReportedPoint
from climasense.telemetry.schemas import TelemetryBuckets, TelemetryPoints
from climasense.telemetry.service import Ingested
from climasense.telemetry.validation import Rejection

T = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
# Values whose text differs between careless serialisers: exponents, tiny, negative zero.
VALUES = [21.5, -0.0, 0.1, 1e-7, 1e16, 1e22, 5e-324, 1.7976931348623157e308, -40.0]


def test_points_answer_is_the_schema_serialisation() -> None:
    sensor = uuid4()
    page = PointsPage(
        points=[
            ReportedPoint(
                timestamp=T + timedelta(microseconds=i * 1_000_001),
                sensor_type="temperature" if i % 2 else "humidity",
                sensor_id=sensor if i % 3 else None,
                value=value,
            )
            for i, value in enumerate(VALUES)
        ],
        next_cursor="opaque.cursor",
    )
    served = dumps(points_document(page))
    assert served == dumps(TelemetryPoints.model_validate(page, from_attributes=True))
    assert served.startswith(b'{"points":[{"timestamp":"2026-11-30T12:00:00Z","sensor_type":')
    last = dumps(points_document(PointsPage(points=[], next_cursor=None)))
    assert last == b'{"points":[],"next_cursor":null}'


def test_buckets_answer_is_the_schema_serialisation() -> None:
    series = BucketSeries(
        buckets=[
            ReportedBucket(
                start=T + timedelta(hours=i),
                sensor_type="co2",
                count=i + 1,
                avg=value,
                min=min(value, 0.0),
                max=max(value, 0.0),
            )
            for i, value in enumerate(VALUES)
        ]
    )
    served = dumps(buckets_document(series))
    assert served == dumps(TelemetryBuckets.model_validate(series, from_attributes=True))
    assert served.startswith(b'{"buckets":[{"start":"2026-11-30T12:00:00Z","sensor_type":"co2"')


def test_ingest_answer_reports_each_rejection_in_order() -> None:
    ingested = Ingested(
        accepted=1,
        duplicates=0,
        errors=[Rejection(0, "invalid_value", "humidity 145.0 is outside 0 .. 100")],
        timestamp=T,
    )
    assert dumps(ingested.to_json()) == (
        b'{"accepted":1,"rejected":1,"duplicates":0,"errors":[{"index":0,'
        b'"error":"invalid_value","message":"humidity 145.0 is outside 0 .. 100"}],'
        b'"timestamp":"2026-11-30T12:00:00Z"}'
    )
