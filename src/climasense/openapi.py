"""The server's `/openapi.json`: the contract's device API (`contract/openapi.yaml`, served as
written, since it is the contract) merged with the operator API FastAPI generates from code.

`tests/integration/api/test_openapi.py` checks that every device path and method in the contract
is routed, and that the served document equals the contract for `/v1`.
"""

from __future__ import annotations

import copy
from functools import cache
from importlib import resources
from typing import Any

import yaml

from climasense import openapi_operator


@cache
def contract_spec() -> dict[str, Any]:
    text = resources.files("climasense.contract").joinpath("openapi.yaml").read_text()
    spec: dict[str, Any] = yaml.safe_load(text)
    return spec


def merge(generated: dict[str, Any]) -> dict[str, Any]:
    # Statuses, error bodies and tags of the operator API: climasense.openapi_operator.
    generated = openapi_operator.complete(generated)
    contract = copy.deepcopy(contract_spec())
    merged: dict[str, Any] = {
        "openapi": contract["openapi"],
        "info": {
            **contract["info"],
            "title": "ClimaSense API",
            "description": contract["info"]["description"]
            + "\n\n## Operator API\n\n`/admin/v1/*` takes an operator token "
            "(`climasense admin create-token`) as `Authorization: Bearer <token>`.",
        },
        "tags": contract.get("tags", []),
        "security": contract.get("security", []),
        "paths": dict(contract["paths"]),
        "components": contract.get("components", {}),
    }
    for path, operations in generated.get("paths", {}).items():
        if path in merged["paths"]:
            raise RuntimeError(f"operator API path {path} collides with the device API")
        ops = copy.deepcopy(operations)
        for operation in ops.values():
            operation.setdefault("security", [])
        merged["paths"][path] = ops
    components = merged["components"]
    for section, entries in generated.get("components", {}).items():
        target = components.setdefault(section, {})
        for name, value in entries.items():
            if name in target and target[name] != value:
                raise RuntimeError(f"component {section}/{name} collides with the contract's")
            target[name] = value
    known_tags = {t["name"] for t in merged["tags"]}
    for operation in (op for ops in generated.get("paths", {}).values() for op in ops.values()):
        for tag in operation.get("tags", []):
            if tag not in known_tags:
                description = openapi_operator.TAG_DESCRIPTIONS.get(tag)
                merged["tags"].append(
                    {"name": tag, **({"description": description} if description else {})}
                )
                known_tags.add(tag)
    return merged
