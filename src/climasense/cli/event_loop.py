"""The event loop the CLI's long-running commands run on."""

from __future__ import annotations

import asyncio
from collections.abc import Callable


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop where it is installed (it comes with the server's `uvicorn[standard]`), as the
    API processes run under uvicorn; None means asyncio's default loop. Its sockets cost less
    per read and write: ~2–11 % less of the simulator's CPU per request, and less of the alert
    worker's, whose batches are a dozen round trips each (docs/performance.md, issue 20
    rounds 8 and 9)."""
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop
