"""A real HTTP endpoint on loopback that records webhook deliveries (tests only)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn

from tests.support.server import free_port


@dataclass
class Received:
    headers: dict[str, str]
    body: bytes
    at: float = field(default_factory=time.time)  # when it arrived (Unix time)


@dataclass
class Receiver:
    url: str
    requests: list[Received] = field(default_factory=list)
    # Status codes to answer, in order; once used up, 200.
    script: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        chunks = []
        while True:
            message = await receive()
            chunks.append(message.get("body", b""))
            if not message.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        self.requests.append(Received(headers, b"".join(chunks)))
        if self.delay_seconds:
            await asyncio.sleep(self.delay_seconds)
        status = self.script.pop(0) if self.script else 200
        await send({"type": "http.response.start", "status": status, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


@asynccontextmanager
async def receiver() -> AsyncIterator[Receiver]:
    port = free_port()
    endpoint = Receiver(url=f"http://127.0.0.1:{port}/hook")
    config = uvicorn.Config(
        endpoint, host="127.0.0.1", port=port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield endpoint
    finally:
        server.should_exit = True
        await task
