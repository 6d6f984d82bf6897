"""The error tree: every error raised on purpose is a domain or a protocol error, and keeps the
status and code the API documents."""

from __future__ import annotations

import pytest

from climasense import errors
from climasense.blobstore import BlobNotFound, BlobStoreError
from climasense.errors import ClimaSenseError, DomainError
from climasense.http import protocol_errors
from climasense.http.protocol_errors import ProtocolError
from climasense.web.common import FormRejected, SignInRequired


def _leaves() -> list[type[ClimaSenseError]]:
    found: list[type[ClimaSenseError]] = []
    pending: list[type[ClimaSenseError]] = [ClimaSenseError]
    while pending:
        cls = pending.pop()
        subclasses = cls.__subclasses__()
        pending.extend(subclasses)
        if cls not in (ClimaSenseError, DomainError, ProtocolError):
            found.append(cls)
    return found


def test_every_error_is_a_domain_or_a_protocol_error() -> None:
    for cls in _leaves():
        assert issubclass(cls, DomainError) != issubclass(cls, ProtocolError), cls


@pytest.mark.parametrize(
    ("cls", "status", "code"),
    [
        (errors.BadRequest, 400, "invalid_json"),
        (errors.Unauthorized, 401, "unauthorized"),
        (errors.Forbidden, 403, "forbidden"),
        (errors.NotFound, 404, "not_found"),
        (errors.Conflict, 409, "conflict"),
        (errors.PreconditionFailed, 412, "precondition_failed"),
        (errors.ValidationFailed, 422, "validation_error"),
        (errors.RateLimited, 429, "rate_limited"),
        (errors.Unavailable, 503, "unavailable"),
        (protocol_errors.MethodNotAllowed, 405, "method_not_allowed"),
        (protocol_errors.PayloadTooLarge, 413, "payload_too_large"),
        (protocol_errors.UnsupportedMediaType, 415, "unsupported_media_type"),
        (protocol_errors.RangeNotSatisfiable, 416, "range_not_satisfiable"),
        (BlobNotFound, 404, "not_found"),
        (BlobStoreError, 503, "unavailable"),
        (SignInRequired, 401, "unauthorized"),
        (FormRejected, 403, "forbidden"),
    ],
)
def test_status_and_code(cls: type[ClimaSenseError], status: int, code: str) -> None:
    error = cls("x")
    assert (error.status, error.body()["error"]) == (status, code)
    assert set(error.body()) == {"error", "message", "details"}


def test_protocol_errors_are_not_in_the_domain_module() -> None:
    for name in ("MethodNotAllowed", "PayloadTooLarge", "UnsupportedMediaType"):
        assert not hasattr(errors, name)
    assert not hasattr(errors, "RangeNotSatisfiable")
