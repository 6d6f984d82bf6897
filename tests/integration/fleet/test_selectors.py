"""Selectors compile to SQL that means what the model says; the rollout bucket is the same in
Python and PostgreSQL."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from pydantic import ValidationError

from climasense.devices import selectors
from climasense.devices.selectors import Selector
from climasense.errors import ValidationFailed
from tests.support.server import LiveServer


async def test_rollout_bucket_is_the_same_in_python_and_sql(server: LiveServer) -> None:
    ids = [uuid.uuid4() for _ in range(500)]
    rows = await server.services.pool.fetch(
        "SELECT id, device_rollout_bucket(id) AS bucket FROM unnest($1::uuid[]) AS t(id)", ids
    )
    assert {row["id"]: row["bucket"] for row in rows} == {
        i: selectors.rollout_bucket(i) for i in ids
    }
    buckets = {selectors.rollout_bucket(i) for i in ids}
    assert min(buckets) >= 0
    assert max(buckets) <= 99
    assert len(buckets) > 90  # spread over the range


@pytest.mark.parametrize("raw", [{}, {"tags_all": []}, {"device_ids": []}, {"tags_any": []}])
def test_empty_selector_is_refused(raw: dict[str, Any]) -> None:
    selector = Selector.model_validate(raw)
    with pytest.raises(ValidationFailed):
        selectors.require(selector)
    with pytest.raises(ValidationFailed):
        selectors.where(selector, lambda value: "$1")


@pytest.mark.parametrize(
    "raw",
    [
        {"tags_all": ["UPPER"]},
        {"tags_any": ["-x"]},
        {"kind": "toaster"},
        {"batch": "has space"},
        {"colour": "red"},
        {"device_ids": ["not-a-uuid"]},
    ],
)
def test_bad_selector_is_refused(raw: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        Selector.model_validate(raw)


def test_where_binds_every_value_and_joins_with_and() -> None:
    args: list[Any] = []

    def arg(value: Any) -> str:
        args.append(value)
        return f"${len(args)}"

    selector = Selector.model_validate(
        {"batch": "b", "model": "m", "kind": "hub", "tags_all": ["x"], "tags_any": ["y", "y"]}
    )
    sql = selectors.where(selector, arg)
    assert sql.count(" AND ") == 4
    assert args == ["b", "m", "hub", ["x"], ["y"]]
    assert "'" not in sql  # nothing inlined


def test_check_tags_dedups_and_refuses_every_bad_one() -> None:
    assert selectors.check_tags(["a", "b", "a"]) == ["a", "b"]
    with pytest.raises(ValidationFailed) as refused:
        selectors.check_tags(["ok", "Bad", 3, "x" * 63, "y" * 64])
    assert [d["field"] for d in refused.value.details] == ["tags[1]", "tags[2]", "tags[4]"]
