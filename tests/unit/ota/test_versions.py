from __future__ import annotations

import pytest
import semver

from climasense.errors import ValidationFailed
from climasense.ota import versions


def v(text: str) -> semver.Version:
    parsed = versions.parse(text)
    assert parsed is not None, text
    return parsed


def test_numeric_not_lexicographic_ordering() -> None:
    assert versions.highest_above(["1.9.0", "1.10.0", "1.2.0"], v("1.0.0")) == "1.10.0"


def test_pre_releases_sort_below_their_release() -> None:
    candidates = ["2.0.0-rc.1", "2.0.0", "2.0.0-beta.11", "2.0.0-beta.2"]
    assert versions.highest_above(candidates, v("1.9.9")) == "2.0.0"
    assert versions.highest_above(["2.0.0-rc.1"], v("2.0.0")) is None
    assert versions.highest_above(["2.0.0"], v("2.0.0-rc.1")) == "2.0.0"
    assert (
        versions.highest_above(["2.0.0-beta.2", "2.0.0-beta.11"], v("2.0.0-beta.1"))
        == "2.0.0-beta.11"
    )


def test_never_a_downgrade_or_the_same_version() -> None:
    assert versions.highest_above(["1.0.0", "0.9.0"], v("1.0.0")) is None
    assert versions.highest_above(["1.0.0+build.7"], v("1.0.0")) is None


def test_invalid_candidates_are_skipped() -> None:
    assert versions.highest_above(["v2", "2.0", "1.1.0"], v("1.0.0")) == "1.1.0"


@pytest.mark.parametrize(
    "text", ["", "1", "1.2", "v1.2.3", "01.2.3", "1.2.3.4", "latest", "1" * 80]
)
def test_not_semver(text: str) -> None:
    assert versions.parse(text) is None
    with pytest.raises(ValidationFailed) as caught:
        versions.require(text, "current_version")
    assert caught.value.details[0]["field"] == "current_version"


def test_missing_is_a_validation_error() -> None:
    with pytest.raises(ValidationFailed, match="required"):
        versions.require(None, "current_version")


def test_precedence_drops_build_metadata_only() -> None:
    assert versions.precedence(v("1.2.3-rc.1+b.5")) == "1.2.3-rc.1"
    assert versions.precedence(v("1.2.3")) == "1.2.3"
