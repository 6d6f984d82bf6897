"""The operator API's part of `/openapi.json` (climasense.openapi_operator): readable unique
operationIds, the contract's error body for every error status, statuses by rule, tags."""

from __future__ import annotations

from collections import Counter
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from climasense.api.app import create_app
from climasense.openapi_operator import (
    ERROR_REF,
    OPERATION_IDS,
    OPERATOR_PREFIX,
    STATUS_OVERRIDES,
    camel_case,
    is_readable_operation_id,
    statuses_for,
    tag_for,
)
from climasense.settings import Settings

METHODS = {"get", "put", "post", "patch", "delete", "head", "options"}


@cache
def served_document() -> dict[str, Any]:
    # Building the document needs no database: the app connects in its lifespan only.
    settings = Settings(
        database_url="postgresql://unused/unused",
        data_dir=Path("/nonexistent"),
        secret_key="x" * 40,
    )
    document: dict[str, Any] = create_app(settings).api.openapi()
    return document


def operations(prefix: str = "/") -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in served_document()["paths"].items()
        if path.startswith(prefix)
        for method, operation in item.items()
        if method in METHODS
    ]


def test_operation_ids_are_unique_and_readable() -> None:
    ids = [op.get("operationId", "") for _, _, op in operations()]
    duplicates = [name for name, count in Counter(ids).items() if count > 1]
    assert duplicates == []
    unreadable = [name for name in ids if not is_readable_operation_id(name)]
    assert unreadable == []
    admin = {op["operationId"] for _, _, op in operations(OPERATOR_PREFIX)}
    assert {"listDevices", "getDevice", "provisionDevices", "revokeDeviceKey"} <= admin
    # Every override and every chosen id names an operation that exists: an endpoint function
    # renamed without its entry here is noticed (its operationId would change silently).
    assert set(STATUS_OVERRIDES) <= admin
    assert set(OPERATION_IDS.values()) <= admin


@pytest.mark.parametrize(
    ("value", "readable"),
    [
        ("listDevices", True),
        ("list_devices_admin_v1_devices_get", False),
        ("list_devices", False),
        ("ListDevices", False),
        ("healthz_healthz_get", False),
    ],
)
def test_the_readability_rule(value: str, readable: bool) -> None:
    assert is_readable_operation_id(value) is readable


def test_camel_case() -> None:
    assert camel_case("rotate_device_key") == "rotateDeviceKey"
    assert camel_case("healthz") == "healthz"


def test_fastapi_validation_schemas_and_response_titles_are_gone() -> None:
    document = served_document()
    assert "HTTPValidationError" not in str(document)
    assert "'title': 'Response " not in str(document)
    assert not {"HTTPValidationError", "ValidationError"} & set(document["components"]["schemas"])


def test_every_operator_error_status_has_the_contract_error_body() -> None:
    for path, method, operation in operations(OPERATOR_PREFIX):
        responses = operation["responses"]
        assert {"401", "403", "429", "503"} <= set(responses), (method, path)
        if "{" in path:
            assert "404" in responses, (method, path)
        if operation.get("parameters") or operation.get("requestBody"):
            assert "422" in responses, (method, path)
        if "requestBody" in operation:
            assert {"413", "415"} <= set(responses), (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                schema = response["content"]["application/json"]["schema"]
                assert schema == {"$ref": ERROR_REF}, (method, path, status)
        assert len(operation["tags"]) == 1


def test_the_error_schema_is_the_contracts() -> None:
    error = served_document()["components"]["schemas"]["Error"]
    assert error["required"] == ["error", "message", "details"]
    assert set(error["properties"]["details"]["items"]["properties"]) == {"field", "message"}


def test_status_rules() -> None:
    body = {"content": {"application/json": {"schema": {}}}}
    assert statuses_for("/admin/v1/things", "get", {}) == ["401", "403", "429", "503"]
    statuses = statuses_for("/admin/v1/things/{id}/cancel", "post", {"operationId": "x"})
    assert statuses == ["401", "403", "404", "409", "429", "503"]
    with_body = statuses_for("/admin/v1/things", "post", {"requestBody": body})
    assert with_body == ["400", "401", "403", "413", "415", "422", "429", "503"]
    if_match = {"parameters": [{"name": "If-Match", "in": "header"}], "operationId": "y"}
    assert "412" in statuses_for("/admin/v1/things/{id}", "get", if_match)
    # An override removes what the rules would add.
    revoke = statuses_for(
        "/admin/v1/devices/{id}/revoke", "post", {"operationId": "revokeDeviceKey"}
    )
    assert "409" not in revoke


def test_tags_follow_the_path() -> None:
    assert tag_for("/admin/v1/devices/{device_id}", []) == "devices"
    assert tag_for("/admin/v1/devices/{device_id}/settings", ["devices"]) == "settings"
    assert tag_for("/admin/v1/firmware/{m}/{v}/releases/{r}/pause", []) == "firmware"
    assert tag_for("/admin/v1/alert-rules/{rule_id}", []) == "alerts"
    assert tag_for("/admin/v1/widgets/{id}", ["gadgets"]) == "gadgets"
    assert tag_for("/admin/v1/widgets/{id}", []) == "widgets"
    served = {op["operationId"]: op["tags"] for _, _, op in operations(OPERATOR_PREFIX)}
    assert served["listDeviceCommands"] == ["commands"]
    assert served["readDeviceTelemetry"] == ["telemetry"]
    assert served["listWebhookDeliveries"] == ["webhooks"]
    names = [tag["name"] for tag in served_document()["tags"]]
    assert len(names) == len(set(names))
    assert {tag for tags in served.values() for tag in tags} <= set(names)
