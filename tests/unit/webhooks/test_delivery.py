"""Backoff schedule and event signing."""

from __future__ import annotations

import hashlib
import hmac

import orjson

from climasense.webhooks.delivery import backoff_seconds, event_body
from climasense.webhooks.sender import sign


def test_backoff_doubles_with_jitter_and_is_capped() -> None:
    for attempt, nominal in [(1, 2.0), (2, 4.0), (3, 8.0), (6, 64.0)]:
        for _ in range(50):
            assert nominal * 0.8 <= backoff_seconds(attempt, 2.0, 3600) <= nominal * 1.2
    assert backoff_seconds(30, 2.0, 3600) <= 3600 * 1.2


def test_signature_is_hmac_sha256_of_the_exact_body() -> None:
    body = event_body("alert.opened", {"alert_id": "a", "value": 1.5})
    event = orjson.loads(body)
    assert set(event) == {"type", "alert", "sent_at"}
    assert event["sent_at"].endswith("Z")
    expected = hmac.new(b"s3cret-s3cret-s3cret", body, hashlib.sha256).hexdigest()
    assert sign(body, "s3cret-s3cret-s3cret") == f"sha256={expected}"
