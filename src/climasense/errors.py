"""Every error the service raises on purpose, arranged by what it means.

    ClimaSenseError                    status, error code, message, details -> the contract body
     +-- DomainError                   what was asked cannot be done (services raise these)
     |    +-- BadRequest          400  the body is not a JSON document (invalid_json)
     |    +-- ValidationFailed    422  the document or a parameter is invalid (validation_error, ...)
     |    +-- Unauthorized        401  no valid credential
     |    |    +-- web.common.SignInRequired      dashboard page without a session
     |    +-- Forbidden           403  the credential may not do this
     |    |    +-- web.common.FormRejected        dashboard form failed its CSRF/origin check
     |    +-- NotFound            404  no such thing
     |    |    +-- blobstore.BlobNotFound         no object under this key in the blob store
     |    +-- Conflict            409  clashes with the current state (conflict, or a finer code)
     |    +-- PreconditionFailed  412  If-Match and the like do not hold
     |    +-- RateLimited         429  too many requests
     |    +-- Unavailable         503  a dependency failed; retry (Retry-After)
     |         +-- blobstore.BlobStoreError       the blob store failed or refused
     +-- http.protocol_errors.ProtocolError      how the request was sent (HTTP itself)
          +-- MethodNotAllowed    405
          +-- PayloadTooLarge     413
          +-- UnsupportedMediaType 415
          +-- RangeNotSatisfiable 416
    ConfigurationError                 refused at start: a message and exit code 2

Services raise these; one handler in `climasense.http.errors` turns them into responses
(the dashboard renders its two as pages, `web/router.py`).
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


class DomainError(ClimaSenseError):
    """What was asked cannot be done: the request's meaning, not its HTTP form."""


class BadRequest(DomainError):
    status = 400
    code = "invalid_json"
    default_message = "Request body is not valid JSON"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    default_message = "Invalid or missing API key"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    default_message = "This key may not do this"


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_message = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_message = "Conflict with the current state"


class PreconditionFailed(DomainError):
    status = 412
    code = "precondition_failed"
    default_message = "Precondition failed"


class ValidationFailed(DomainError):
    status = 422
    code = "validation_error"
    default_message = "Request is invalid"


class RateLimited(DomainError):
    status = 429
    code = "rate_limited"
    default_message = "Too many requests"


class Unavailable(DomainError):
    status = 503
    code = "unavailable"
    default_message = "Service temporarily unavailable"

    def __init__(self, message: str | None = None, *, retry_after: int = 2) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class ConfigurationError(Exception):
    """Configuration that cannot work; the CLI prints it and exits with code 2."""
