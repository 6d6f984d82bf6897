"""The in-process operator API call, against a small real ASGI app."""

from __future__ import annotations

from collections.abc import AsyncIterator
from uuid import uuid4

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from climasense.auth.principals import AdminPrincipal
from climasense.web.operator_api import OPERATOR_SCOPE_KEY, OperatorAPI


async def echo(request: Request) -> Response:
    body = await request.body()
    operator = request.scope.get(OPERATOR_SCOPE_KEY)
    return JSONResponse(
        {
            "method": request.method,
            "query": dict(request.query_params),
            "bytes": len(body),
            "content_type": request.headers.get("content-type"),
            "if_match": request.headers.get("if-match"),
            "operator": operator.name if operator else None,
        },
        status_code=201,
    )


async def missing(request: Request) -> Response:
    return JSONResponse({"error": "not_found", "message": "Not found", "details": []}, 404)


APP = Starlette(
    routes=[Route("/echo", echo, methods=["GET", "POST", "PUT"]), Route("/gone", missing)]
)
OPERATOR = AdminPrincipal(uuid4(), "ops")


async def test_carries_the_operator_in_the_scope_and_drops_empty_params() -> None:
    api = OperatorAPI(APP, OPERATOR, {})
    result = await api.get("/echo", batch="b1", kind=None, model="")
    assert result.status == 201
    assert result.ok
    assert result.body["operator"] == "ops"
    assert result.body["query"] == {"batch": "b1"}


async def test_json_bodies_and_headers() -> None:
    api = OperatorAPI(APP, OPERATOR, {})
    result = await api.call("POST", "/echo", json={"a": 1}, headers={"If-Match": '"3"'})
    assert result.body["content_type"] == "application/json"
    assert result.body["bytes"] == len(b'{"a":1}')
    assert result.body["if_match"] == '"3"'


async def test_streams_a_body_in_chunks() -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(10):
            yield b"x" * 100_000

    api = OperatorAPI(APP, OPERATOR, {})
    result = await api.call(
        "PUT", "/echo", content=chunks(), content_type="application/octet-stream"
    )
    assert result.body["bytes"] == 1_000_000


async def test_a_404_is_an_error_with_the_api_message() -> None:
    api = OperatorAPI(APP, OPERATOR, {})
    result = await api.get("/gone")
    assert result.status == 404
    assert not result.ok
    assert result.message == "Not found"


async def test_validation_details_are_part_of_the_message() -> None:
    from climasense.web.operator_api import ApiResult

    result = ApiResult(
        422,
        {
            "error": "validation_error",
            "message": "Request is invalid",
            "details": [{"field": "timezone", "message": "unknown zone"}],
        },
    )
    assert result.message == "Request is invalid; timezone: unknown zone"
