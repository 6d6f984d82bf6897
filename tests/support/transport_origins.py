"""Say where an unclosed asyncio transport came from (a pytest plugin, tests/conftest.py).

The suite turns warnings into errors, so a socket left open is a failure — but Python warns
about it only when the transport is garbage-collected, which can be several tests after the
one that leaked it, and its message names neither. CI failed once so, at the set-up of an
unrelated OTA test (`unclosed transport <_SelectorSocketTransport fd=26 read=idle …>`).
Here every selector transport records the test that was running and the innermost frames of
the project and its HTTP/database clients when it was made, and the warning carries them.
Cost: one short stack walk per connection the tests open (a few thousand a run).
"""

from __future__ import annotations

import sys
import warnings
from asyncio import selector_events
from collections.abc import Iterator
from typing import Any

import pytest

# Frames worth naming: ours and the client libraries that open sockets for us.
_INTERESTING = (
    "/climasense/",
    "/tests/",
    "/httpx/",
    "/httpcore/",
    "/anyio/",
    "/asyncpg/",
    "/redis/",
    "/aiohttp/",
    "/uvicorn/",
)
_FRAMES = 6

_current_test = "(outside any test)"


def _origin() -> str:
    frames: list[str] = []
    frame = sys._getframe(2)
    while frame is not None and len(frames) < _FRAMES:
        path = frame.f_code.co_filename
        if any(part in path for part in _INTERESTING):
            where = "/".join(path.rsplit("/", 2)[-2:])  # its folder and file
            frames.append(f"{where}:{frame.f_lineno} {frame.f_code.co_name}")
        frame = frame.f_back  # type: ignore[assignment]
    return f"made during {_current_test}, at " + " <- ".join(frames or ["(no known frame)"])


_original_init = selector_events._SelectorTransport.__init__


def _init(self: Any, *args: Any, **kwargs: Any) -> None:
    _original_init(self, *args, **kwargs)
    self._climasense_origin = _origin()


def _del(self: Any, _warn: Any = warnings.warn) -> None:
    if self._sock is not None:
        origin = getattr(self, "_climasense_origin", "origin unknown")
        _warn(f"unclosed transport {self!r} ({origin})", ResourceWarning, source=self)
        self._sock.close()


def pytest_configure(config: pytest.Config) -> None:
    selector_events._SelectorTransport.__init__ = _init  # type: ignore[method-assign]
    selector_events._SelectorTransport.__del__ = _del  # type: ignore[method-assign]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item) -> Iterator[None]:
    global _current_test
    _current_test = item.nodeid
    try:
        return (yield)
    finally:
        _current_test = "(between tests)"
