"""The operator API's route class: strict JSON (orjson: NaN/Infinity are 400) and 415 for a
body that is not JSON where a JSON body is expected."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import orjson
from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from climasense.http.body import declares_body, is_json_content_type, reject_nul
from climasense.http.protocol_errors import UnsupportedMediaType


class StrictJSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            # orjson.JSONDecodeError subclasses json.JSONDecodeError, which FastAPI maps to a
            # `json_invalid` validation error; our handler answers that with 400 invalid_json.
            self._json = orjson.loads(await self.body())
        return self._json


class JSONRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        expects_json = self.body_field is not None

        async def route_handler(request: Request) -> Response:
            if (
                expects_json
                and request.method in {"POST", "PUT", "PATCH"}
                and declares_body(request.headers)
                and not is_json_content_type(request.headers.get("content-type"))
            ):
                raise UnsupportedMediaType()
            strict = StrictJSONRequest(request.scope, request.receive)
            if expects_json and b"\\u0000" in await strict.body():
                # Checked here, not in json(): FastAPI turns any error raised while it parses
                # the body into a generic 400.
                try:
                    document = await strict.json()
                except orjson.JSONDecodeError:
                    pass  # FastAPI answers it (400 invalid_json)
                else:
                    reject_nul(await strict.body(), document)
            return await handler(strict)

        return route_handler
