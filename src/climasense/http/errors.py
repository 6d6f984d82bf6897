"""One place that turns every failure into the contract's error body (CONTRACT §2)."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response

from climasense.errors import BadRequest, ClimaSenseError, NotFound, Unavailable, ValidationFailed
from climasense.http.protocol_errors import MethodNotAllowed
from climasense.http.responses import JSONResponse, error_response

log = logging.getLogger(__name__)

# Failures of a dependency (database unreachable, connection dropped, pool exhausted) are
# 503 + Retry-After, not 500: the client should retry, and nothing was half-written because
# every write runs in a transaction.
DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    OSError,
    TimeoutError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.TooManyConnectionsError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.CrashShutdownError,
    asyncpg.exceptions.ConnectionFailureError,
    asyncpg.exceptions.QueryCanceledError,
    asyncpg.exceptions.LockNotAvailableError,
    asyncpg.exceptions.SerializationError,
    asyncpg.exceptions.DeadlockDetectedError,
    # A pooled connection PostgreSQL has just terminated (a restart, a failover,
    # pg_terminate_backend), used in the moment before asyncpg has seen its socket close:
    # "cannot switch to state …; another operation … is in progress". The pool replaces the
    # connection; a retry succeeds (tests/integration/http/test_errors.py: 2 of 10 queries in
    # the first milliseconds after the cut raised it — a 500 before).
    asyncpg.exceptions.InternalClientError,
)


# Text PostgreSQL cannot store (U+0000) in a query or path parameter: the caller's input, not a
# bug. JSON bodies are checked before they get this far (`http.body.reject_nul`).
INPUT_TEXT_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.exceptions.CharacterNotInRepertoireError,
    asyncpg.exceptions.UntranslatableCharacterError,
)


def field_path(loc: tuple[Any, ...] | list[Any]) -> str:
    """`("body", "readings", 3, "value")` → `readings[3].value`."""
    parts = list(loc)
    if parts and parts[0] in {"body", "query", "path", "header"}:
        parts = parts[1:]
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out or "body"


def validation_details(errors: list[dict[str, Any]]) -> list[dict[str, str]]:
    return [
        {"field": field_path(e.get("loc", ())), "message": str(e.get("msg", ""))} for e in errors
    ]


def exception_to_response(exc: BaseException) -> Response:
    """The response for any exception raised while handling a request."""
    if isinstance(exc, ClimaSenseError):
        return error_response(exc)
    if isinstance(exc, INPUT_TEXT_ERRORS):
        return error_response(ValidationFailed("Text may not contain the character U+0000 (NUL)"))
    if isinstance(exc, ClientDisconnect):
        # The client went away mid-body: nobody to answer, nothing to log as an error.
        log.debug("client disconnected before its request body was read")
        return error_response(BadRequest("Client disconnected", code="bad_request"))
    if isinstance(exc, DEPENDENCY_ERRORS):
        # The answer says only "unavailable"; the log says which dependency and why.
        log.warning("dependency failure: %s: %.300s", type(exc).__name__, exc)
        return error_response(Unavailable())
    log.exception("unhandled error")
    return JSONResponse(
        {"error": "internal_error", "message": "Internal server error", "details": []},
        status_code=500,
    )


async def _on_domain_error(_: Request, exc: Exception) -> Response:
    return exception_to_response(exc)


async def _on_http_exception(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        return error_response(NotFound())
    if exc.status_code == 405:
        return error_response(MethodNotAllowed(), headers=dict(exc.headers or {}))
    code = {400: "bad_request", 401: "unauthorized", 403: "forbidden"}.get(exc.status_code, "error")
    return JSONResponse(
        {"error": code, "message": str(exc.detail), "details": []},
        status_code=exc.status_code,
        headers=dict(exc.headers or {}),
    )


async def _on_validation_error(_: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errors = list(exc.errors())
    if any(e.get("type") == "json_invalid" for e in errors):
        return error_response(BadRequest())
    return error_response(
        ValidationFailed("Request is invalid", details=validation_details(errors))
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(ClimaSenseError, _on_domain_error)
    app.add_exception_handler(StarletteHTTPException, _on_http_exception)
    app.add_exception_handler(RequestValidationError, _on_validation_error)
    for exc_type in (*DEPENDENCY_ERRORS, *INPUT_TEXT_ERRORS, ClientDisconnect):
        app.add_exception_handler(exc_type, _on_domain_error)
    app.add_exception_handler(Exception, _on_domain_error)
