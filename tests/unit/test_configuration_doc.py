"""docs/configuration.md is generated from the settings declarations and lists every variable."""

from __future__ import annotations

import re
from pathlib import Path

from climasense.settings_doc import render

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "configuration.md"


def test_configuration_doc_is_generated_from_the_settings() -> None:
    assert DOC.read_text() == render(), (
        "docs/configuration.md is out of date: run scripts/gen-config-doc "
        "(python -m climasense.settings_doc > docs/configuration.md)"
    )


def test_every_variable_named_in_the_code_is_documented() -> None:
    documented = set(re.findall(r"`(CLIMASENSE_[A-Z0-9_]+)`", DOC.read_text()))
    named: dict[str, str] = {}
    for path in (ROOT / "src").rglob("*.py"):
        for name in re.findall(r"\bCLIMASENSE_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()):
            named.setdefault(name, str(path.relative_to(ROOT)))
    # The rate-limit names are built from the endpoint names: the doc lists each one.
    named.pop("CLIMASENSE_LIMIT", None)
    missing = {name: where for name, where in named.items() if name not in documented}
    assert not missing, f"variables read by the code but missing from the doc: {missing}"
