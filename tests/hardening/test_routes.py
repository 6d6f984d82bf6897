"""Every operation of the contract's device API is routed, and nothing else is under /v1."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import yaml

from climasense.api.device_routes import device_routes

CONTRACT = Path(__file__).resolve().parents[2] / "src" / "climasense" / "contract" / "openapi.yaml"
METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def contract_operations() -> set[tuple[str, str]]:
    paths = yaml.safe_load(CONTRACT.read_text())["paths"]
    return {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method in METHODS
    }


def test_contract_has_operations_to_compare() -> None:
    # Guards the comparison below against a parse that finds nothing.
    assert ("GET", "/v1/settings") in contract_operations()
    assert len(contract_operations()) >= 11


def test_every_contract_operation_is_routed() -> None:
    routed = {(route.method, route.path) for route in device_routes()}
    missing = sorted(contract_operations() - routed)
    assert missing == [], f"in openapi.yaml but not routed by device_routes(): {missing}"


def test_no_undocumented_device_route() -> None:
    routed = {(route.method, route.path) for route in device_routes()}
    extra = sorted(routed - contract_operations())
    assert extra == [], f"routed under /v1 but not in openapi.yaml: {extra}"


def test_each_route_is_registered_once() -> None:
    counts = Counter((route.method, route.path) for route in device_routes())
    assert [op for op, n in counts.items() if n > 1] == []
