"""Errors about how a request was sent (HTTP itself), not about what it asks.

They sit beside the domain errors in the tree drawn in `climasense.errors`, and become the
same contract body through `climasense.http.errors`.
"""

from __future__ import annotations

from climasense.errors import ClimaSenseError


class ProtocolError(ClimaSenseError):
    """The request's method, size, media type or range is not one this resource takes."""


class MethodNotAllowed(ProtocolError):
    status = 405
    code = "method_not_allowed"
    default_message = "Method not allowed"


class PayloadTooLarge(ProtocolError):
    status = 413
    code = "payload_too_large"
    default_message = "Request body is too large"


class UnsupportedMediaType(ProtocolError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Content-Type must be application/json"


class RangeNotSatisfiable(ProtocolError):
    status = 416
    code = "range_not_satisfiable"
    default_message = "Range is outside the image"


__all__ = [
    "MethodNotAllowed",
    "PayloadTooLarge",
    "ProtocolError",
    "RangeNotSatisfiable",
    "UnsupportedMediaType",
]
