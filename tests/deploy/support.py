"""Reading the deployment files: compose.yaml (with its `${VAR}` interpolation), the metric
names a PromQL expression mentions, and the series a real /metrics exports."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = ROOT / "compose.yaml"
DEPLOY = ROOT / "deploy"

_VARIABLE = re.compile(r"\$\{(\w+)(?::?([-?])([^}]*))?\}")


def interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's `${VAR}`, `${VAR:-default}` and `${VAR:?message}` (`$$` is a literal `$`)."""

    def replace(match: re.Match[str]) -> str:
        name, kind, rest = match.group(1), match.group(2), match.group(3)
        if env.get(name):
            return env[name]
        if kind == "-":
            return rest
        if kind == "?":
            raise KeyError(f"{name}: {rest}")
        return ""

    return _VARIABLE.sub(replace, value).replace("$$", "$")


def compose(env: dict[str, str] | None = None) -> dict[str, Any]:
    """compose.yaml as a dictionary; with `env`, every string interpolated."""
    document: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    if env is None:
        return document

    def walk(node: Any) -> Any:
        if isinstance(node, str):
            return interpolate(node, env)
        if isinstance(node, list):
            return [walk(item) for item in node]
        if isinstance(node, dict):
            return {key: walk(value) for key, value in node.items()}
        return node

    result: dict[str, Any] = walk(document)
    return result


_PROMQL_NAME = re.compile(r"\b(climasense_[a-z0-9_]+)\b")


def promql_series(expression: str) -> set[str]:
    return set(_PROMQL_NAME.findall(expression))


_SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "gauge": ("",),
    "summary": ("_sum", "_count", "_created"),
}


def exported_series(exposition: str) -> set[str]:
    """Every series name a scrape can hold: sample names and, from each `# TYPE` line, the
    names of its samples (a labelled counter with no sample yet still declares its type)."""
    names: set[str] = set()
    for line in exposition.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            base = name.removesuffix("_total") if kind == "counter" else name
            names.update(base + suffix for suffix in _SUFFIXES.get(kind, ("",)))
        elif line and not line.startswith("#"):
            names.add(re.split(r"[{ ]", line, maxsplit=1)[0])
    return names
