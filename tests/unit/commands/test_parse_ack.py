"""Validation of a device's acknowledgement body."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from climasense.commands.service import PAYLOAD_LIMIT, parse_ack
from climasense.errors import ValidationFailed

ID = str(uuid.uuid4())


def test_minimal_and_full_acks() -> None:
    ack = parse_ack({"command_id": ID, "status": "acked"})
    assert (ack.command_id, ack.status, ack.result, ack.error_message) == (
        uuid.UUID(ID),
        "acked",
        None,
        None,
    )
    ack = parse_ack(
        {"command_id": ID, "status": "failed", "error_message": "busy", "result": {"a": [1]}}
    )
    assert (ack.status, ack.error_message, ack.result) == ("failed", "busy", {"a": [1]})


def test_unknown_fields_are_ignored() -> None:
    # Refusing the answer would leave the command live and have the device run it again.
    assert parse_ack({"command_id": ID, "status": "acked", "firmware": "1.2"}).status == "acked"


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ([], {"body"}),
        ({}, {"command_id", "status"}),
        ({"command_id": "x", "status": "acked"}, {"command_id"}),
        ({"command_id": ID, "status": "ACKED"}, {"status"}),
        ({"command_id": ID, "status": "acked", "result": []}, {"result"}),
        ({"command_id": ID, "status": "acked", "error_message": "e" * 4097}, {"error_message"}),
        (
            {"command_id": ID, "status": "acked", "result": {"k": "v" * PAYLOAD_LIMIT}},
            {"result"},
        ),
    ],
)
def test_invalid_acks(body: Any, fields: set[str]) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_ack(body)
    assert {d["field"] for d in caught.value.details} == fields
