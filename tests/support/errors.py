"""Checks an error answer: its status and the contract's body (error, message, details)."""

from __future__ import annotations


def assert_error(response: object, status: int, code: str) -> None:
    assert response.status_code == status, response.text  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert set(body) >= {"error", "message", "details"}
    assert body["error"] == code
    assert isinstance(body["details"], list)
