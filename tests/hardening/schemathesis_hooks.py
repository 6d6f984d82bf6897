"""Checks of our own for the schemathesis run (loaded by its CLI through `hooks = …`).

`POST /v1/telemetry` rejects a bad *reading* on its own inside a `202` (CONTRACT §4.1), so
schema-violating readings are rightly accepted and `negative_data_rejection` is told to allow
202 there. This check keeps that allowance exact: a broken *envelope* (the cases the contract
lists) must still be refused, and a 202 must account for every reading sent.
"""

from __future__ import annotations

from typing import Any

import schemathesis

TELEMETRY = ("POST", "/v1/telemetry")
REFUSALS = {400, 401, 403, 413, 415, 422, 429, 503}


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def envelope_problem(body: Any) -> str | None:
    """Why the contract refuses this batch as a whole (422), or None."""
    if not isinstance(body, dict):
        return "not an object"
    if set(body) - {"readings", "latitude", "longitude"}:
        return "unknown top-level field"
    readings = body.get("readings")
    if not isinstance(readings, list) or not 1 <= len(readings) <= 100:
        return "readings missing, not an array, empty or over 100"
    if any(not isinstance(r, dict) for r in readings):
        return "a reading that is not an object"
    if ("latitude" in body) != ("longitude" in body):
        return "only one of latitude/longitude"
    for axis, limit in (("latitude", 90), ("longitude", 180)):
        if axis in body and (not _number(body[axis]) or not -limit <= body[axis] <= limit):
            return f"bad {axis}"
    return None


@schemathesis.check
def telemetry_batch_semantics(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    if (case.method.upper(), case.path) != TELEMETRY:
        return None
    media = (case.media_type or "application/json").split(";")[0].strip()
    if media != "application/json" or isinstance(case.body, bytes | str):
        return None  # not a JSON document this check can read; the other checks judge it
    status = response.status_code
    problem = envelope_problem(case.body)
    if problem is not None and status not in REFUSALS:
        raise AssertionError(f"a batch with {problem} was answered {status}, not refused")
    if status == 202:
        answer = response.json()
        sent = len(case.body["readings"])
        if answer["accepted"] + answer["rejected"] != sent:
            raise AssertionError(f"202 accounts for {answer} of {sent} readings")
        if len(answer["errors"]) != answer["rejected"]:
            raise AssertionError(
                f"{answer['rejected']} rejected but {len(answer['errors'])} errors"
            )
        if not 0 <= answer["duplicates"] <= answer["accepted"]:
            raise AssertionError(f"duplicates out of range: {answer}")
    return None
