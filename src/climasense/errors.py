"""Every error the service raises on purpose, and the contract body each becomes.

    ClimaSenseError                  -> status, error code, message, details
     +-- BadRequest (400 invalid_json)
     +-- Unauthorized (401 unauthorized)
     +-- Forbidden (403 forbidden)
     +-- NotFound (404 not_found)
     +-- MethodNotAllowed (405 method_not_allowed)
     +-- Conflict (409 conflict, or a more specific code)
     +-- PreconditionFailed (412 precondition_failed)
     +-- PayloadTooLarge (413 payload_too_large)
     +-- UnsupportedMediaType (415 unsupported_media_type)
     +-- RangeNotSatisfiable (416 range_not_satisfiable)
     +-- ValidationFailed (422 validation_error, or a more specific code)
     +-- RateLimited (429 rate_limited)
     +-- Unavailable (503 unavailable)
    ConfigurationError               -> refused at start: a message and exit code 2

Services raise these; one handler in `climasense.http.errors` turns them into responses.
"""

from __future__ import annotations

from typing import Any, ClassVar


class ClimaSenseError(Exception):
    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"
    default_message: ClassVar[str] = "Internal server error"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        details: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        self.message = message or self.default_message
        self.error_code = code or self.code
        self.details = details or []
        self.headers = headers or {}
        super().__init__(self.message)

    def body(self) -> dict[str, Any]:
        return {"error": self.error_code, "message": self.message, "details": self.details}


class BadRequest(ClimaSenseError):
    status = 400
    code = "invalid_json"
    default_message = "Request body is not valid JSON"


class Unauthorized(ClimaSenseError):
    status = 401
    code = "unauthorized"
    default_message = "Invalid or missing API key"


class Forbidden(ClimaSenseError):
    status = 403
    code = "forbidden"
    default_message = "This key may not do this"


class NotFound(ClimaSenseError):
    status = 404
    code = "not_found"
    default_message = "Not found"


class MethodNotAllowed(ClimaSenseError):
    status = 405
    code = "method_not_allowed"
    default_message = "Method not allowed"


class Conflict(ClimaSenseError):
    status = 409
    code = "conflict"
    default_message = "Conflict with the current state"


class PreconditionFailed(ClimaSenseError):
    status = 412
    code = "precondition_failed"
    default_message = "Precondition failed"


class PayloadTooLarge(ClimaSenseError):
    status = 413
    code = "payload_too_large"
    default_message = "Request body is too large"


class UnsupportedMediaType(ClimaSenseError):
    status = 415
    code = "unsupported_media_type"
    default_message = "Content-Type must be application/json"


class RangeNotSatisfiable(ClimaSenseError):
    status = 416
    code = "range_not_satisfiable"
    default_message = "Range is outside the image"


class ValidationFailed(ClimaSenseError):
    status = 422
    code = "validation_error"
    default_message = "Request is invalid"


class RateLimited(ClimaSenseError):
    status = 429
    code = "rate_limited"
    default_message = "Too many requests"


class Unavailable(ClimaSenseError):
    status = 503
    code = "unavailable"
    default_message = "Service temporarily unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 2) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class ConfigurationError(Exception):
    """Configuration that cannot work; the CLI prints it and exits with code 2."""
