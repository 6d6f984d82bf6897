"""What the served `/openapi.json` says about the operator API (`/admin/v1`), completed in one
place from rules, so that a route added or moved anywhere is documented the same way without
touching its file.

FastAPI documents an operation's success response and a `422` in its own `HTTPValidationError`
shape; the server answers every error in the contract's body (`Error`: `error`, `message`,
`details[]` of `{field, message}`, `http/errors.py`). `complete()` post-processes the document
FastAPI generated, before `openapi.merge` joins it to the contract's device API:

Statuses (each with the `Error` body), for every `/admin/v1` operation:

    401  always (missing, unknown or revoked operator token)     + `WWW-Authenticate`
    403  always (a token that may not do this)
    429  always (failed-authentication throttle)                  + `Retry-After`
    503  always (database or object store down)                   + `Retry-After`
    404  the path has a parameter (an unknown or malformed id is `not_found`)
    422  the operation has a parameter or a body (`validation_error`, signed cursors)
    400  the body is JSON (`invalid_json`, NaN/Infinity included)
    413  the operation has a body (`payload_too_large`)
    415  the operation has a body (`unsupported_media_type`)
    412  the operation takes an `If-Match` header (`precondition_failed`)
    409  the operation changes state (POST, PUT, PATCH, DELETE) on a resource named in its
         path (a path parameter): a transition can meet a state that refuses it

`STATUS_OVERRIDES` (keyed by operationId) adds or removes statuses where the rules are wrong
for one operation. A status an operation already documents itself (`responses=` on its route)
keeps its description; only its body schema becomes `Error` when it is an error status.

FastAPI's "Response …" titles of inline response bodies are dropped (a generated client
then names those classes from the operationId). `422` is the contract's `Error` everywhere in
the document (also outside `/admin/v1`), and the `HTTPValidationError` and `ValidationError`
components are dropped.

Operation ids: `operation_id()` is the operator router's `generate_unique_id_function`. An
explicit `operation_id=` on a route wins (FastAPI's rule); otherwise `OPERATION_IDS` maps an
endpoint function whose name reads poorly as an id, and every other endpoint's function name is
turned into camelCase (`list_devices` → `listDevices`). Ids are unique across the document
(device API included); `tests/unit/test_openapi_operator.py` fails on a duplicate or on a
FastAPI-style id.

Tags: one per domain, from the path. The last static path segment found in `TAGS_BY_SEGMENT`
names the tag (`/devices/{id}/settings` → `settings`); a path with none of them keeps the tag
its router declares, else takes its first segment.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from fastapi.routing import APIRoute

OPERATOR_PREFIX = "/admin/v1"
ERROR_REF = "#/components/schemas/Error"
DROPPED_SCHEMAS = ("HTTPValidationError", "ValidationError")
STATE_CHANGING = frozenset({"post", "put", "patch", "delete"})

# endpoint function name -> operationId, where camelCase of the name would read poorly.
OPERATION_IDS: dict[str, str] = {
    "revoke_device": "revokeDeviceKey",
    "command_history": "listDeviceCommands",
    "send_command": "sendDeviceCommand",
    "read_telemetry": "readDeviceTelemetry",
    "get_model_defaults": "getModelSettingsDefaults",
    "put_model_defaults": "putModelSettingsDefaults",
    "delete_model_defaults": "deleteModelSettingsDefaults",
    "create_rule": "createAlertRule",
    "list_rules": "listAlertRules",
    "get_rule": "getAlertRule",
    "update_rule": "updateAlertRule",
    "delete_rule": "deleteAlertRule",
    "list_deliveries": "listWebhookDeliveries",
}

# static path segment -> tag (the last such segment in a path decides).
TAGS_BY_SEGMENT: dict[str, str] = {
    "devices": "devices",
    "settings": "settings",
    "settings-defaults": "settings",
    "commands": "commands",
    "firmware": "firmware",
    "releases": "firmware",
    "telemetry": "telemetry",
    "alerts": "alerts",
    "alert-rules": "alerts",
    "webhooks": "webhooks",
    "deliveries": "webhooks",
}

TAG_DESCRIPTIONS: dict[str, str] = {
    "devices": "Operator: provisioning, listing, revoking devices and rotating their keys.",
    "firmware": "Operator: firmware images and staged releases.",
    "alerts": "Operator: alert rules and the alerts they raise.",
    "webhooks": "Operator: webhook subscriptions and their deliveries.",
}

# operationId -> {status: True (add) | False (remove)}: where the rules above are wrong.
STATUS_OVERRIDES: dict[str, dict[str, bool]] = {
    # Idempotent: revoking a revoked key or rotating again is not a conflict.
    "revokeDeviceKey": {"409": False},
    "rotateDeviceKey": {"409": False},
    # Optimistic concurrency is `If-Match` + 412, not 409.
    "patchDeviceSettings": {"409": False},
    # Upsert and delete of a per-model document: no state to conflict with.
    "putModelSettingsDefaults": {"409": False},
    "deleteModelSettingsDefaults": {"409": False},
    # A command is queued whatever the device's state.
    "sendDeviceCommand": {"409": False},
    "updateAlertRule": {"409": False},
    "deleteAlertRule": {"409": False},
    "deleteWebhook": {"409": False},
    # A firmware image is raw bytes, never JSON.
    "uploadFirmware": {"400": False},
}

ERROR_DESCRIPTIONS: dict[str, str] = {
    "400": "The body is not parseable JSON (`invalid_json`); NaN and Infinity included.",
    "401": "Missing, unknown or revoked operator token (`unauthorized`).",
    "403": "The token is valid but may not do this (`forbidden`).",
    "404": "Nothing with this id (`not_found`); a malformed id is not found either.",
    "409": "The resource's state refuses this change (`conflict` or a more specific code).",
    "412": "`If-Match` names another version (`precondition_failed`).",
    "413": "The body is over the limit (`payload_too_large`).",
    "415": "The body's `Content-Type` is not one this operation takes (`unsupported_media_type`).",
    "422": "A parameter or the body breaks the schema (`validation_error` or a more specific "
    "code); `details` lists each offending field. Nothing is changed.",
    "429": "Too many failed authentications (`rate_limited`); retry after `Retry-After`.",
    "503": "A dependency is down (`unavailable`); nothing was half-written. Retry after "
    "`Retry-After` seconds.",
}

_RETRY_AFTER = {
    "description": "Seconds to wait before retrying.",
    "schema": {"type": "integer"},
}
ERROR_HEADERS: dict[str, dict[str, Any]] = {
    "401": {
        "WWW-Authenticate": {"description": "The scheme, `Bearer`.", "schema": {"type": "string"}}
    },
    "429": {"Retry-After": _RETRY_AFTER},
    "503": {"Retry-After": _RETRY_AFTER},
}

_FASTAPI_STYLE = re.compile(r"_(get|post|put|patch|delete)$|__|_admin_v1_")
_CAMEL = re.compile(r"^[a-z][a-zA-Z0-9]*$")


def camel_case(name: str) -> str:
    head, *rest = [part for part in name.split("_") if part]
    return head.lower() + "".join(part[:1].upper() + part[1:] for part in rest)


def operation_id(route: APIRoute) -> str:
    """`generate_unique_id_function` for the operator router (explicit `operation_id=` wins)."""
    return OPERATION_IDS.get(route.name) or camel_case(route.name)


def is_readable_operation_id(value: str) -> bool:
    """camelCase, and not FastAPI's `name_path_method` form."""
    return bool(_CAMEL.match(value)) and not _FASTAPI_STYLE.search(value)


def error_response(status: str, description: str | None = None) -> dict[str, Any]:
    response: dict[str, Any] = {
        "description": description or ERROR_DESCRIPTIONS[status],
        "content": {"application/json": {"schema": {"$ref": ERROR_REF}}},
    }
    if status in ERROR_HEADERS:
        response["headers"] = copy.deepcopy(ERROR_HEADERS[status])
    return response


def static_segments(path: str) -> list[str]:
    return [s for s in path.split("/") if s and not s.startswith("{")]


def tag_for(path: str, declared: list[str]) -> str:
    segments = static_segments(path.removeprefix(OPERATOR_PREFIX))
    for segment in reversed(segments):
        if segment in TAGS_BY_SEGMENT:
            return TAGS_BY_SEGMENT[segment]
    if declared:
        return declared[0]
    return segments[0] if segments else "operator"


def statuses_for(path: str, method: str, operation: dict[str, Any]) -> list[str]:
    """The error statuses an operator operation can answer, by the rules in the docstring."""
    parameters = operation.get("parameters", [])
    has_path_param = "{" in path
    body = operation.get("requestBody")
    statuses = {"401", "403", "429", "503"}
    if has_path_param:
        statuses.add("404")
    if parameters or body:
        statuses.add("422")
    if body:
        statuses |= {"413", "415"}
        if any("json" in media for media in body.get("content", {})):
            statuses.add("400")
    if any(p.get("in") == "header" and p.get("name", "").lower() == "if-match" for p in parameters):
        statuses.add("412")
    if method in STATE_CHANGING and has_path_param:
        statuses.add("409")
    for status, wanted in STATUS_OVERRIDES.get(operation.get("operationId", ""), {}).items():
        (statuses.add if wanted else statuses.discard)(status)
    return sorted(statuses)


def _uses_validation_error(response: dict[str, Any]) -> bool:
    return any(
        media.get("schema", {}).get("$ref", "").endswith("/HTTPValidationError")
        for media in response.get("content", {}).values()
    )


def complete(generated: dict[str, Any]) -> dict[str, Any]:
    """FastAPI's generated document with the operator API documented by the rules above."""
    document = copy.deepcopy(generated)
    for path, item in document.get("paths", {}).items():
        for method, operation in item.items():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            for status, response in list(responses.items()):
                for media in response.get("content", {}).values():
                    # FastAPI's title for an inline body ("Response Getmodelsettingsdefaults")
                    # would name a generated client's class; without it the client names it
                    # from the operationId and status.
                    schema = media.get("schema", {})
                    if str(schema.get("title", "")).startswith("Response "):
                        del schema["title"]
                if status == "422" or _uses_validation_error(response):
                    own = response.get("description")
                    responses[status] = error_response(
                        status, None if own == "Validation Error" else own
                    )
            if not path.startswith(OPERATOR_PREFIX + "/"):
                continue
            operation["tags"] = [tag_for(path, operation.get("tags", []))]
            for status in statuses_for(path, method, operation):
                if status in responses:
                    responses[status] = error_response(status, responses[status]["description"])
                else:
                    responses[status] = error_response(status)
            operation["responses"] = dict(sorted(responses.items()))
    schemas = document.get("components", {}).get("schemas", {})
    for name in DROPPED_SCHEMAS:
        schemas.pop(name, None)
    return document
