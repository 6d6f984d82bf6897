"""The routes an app really serves, whatever way its routers were included (FastAPI keeps
included routers as nested branches, not a flat list)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any


def served_routes(routes: Sequence[Any]) -> Iterator[tuple[str, str]]:
    """(method, path template) of every HTTP route, included routers walked."""
    for route in routes:
        mounted = getattr(route, "app", None)
        if getattr(route, "prefix", None) and hasattr(mounted, "routes"):
            # api.app.OperatorPrefix: /admin/v1 is the operator API's own FastAPI app.
            yield from served_routes(mounted.routes)
            continue
        branches = getattr(route, "effective_candidates", None)
        if callable(branches):
            yield from served_routes(branches())
            continue
        path = getattr(route, "path", None)
        for method in sorted(getattr(route, "methods", None) or ()):
            if isinstance(path, str):
                yield method, path
