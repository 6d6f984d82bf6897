"""Where a hung test's event loop was waiting: every pending task with the frames it is
suspended in, and how busy the default thread pool is (`asyncio.to_thread`: the local blob
store's file I/O, host-name lookups). For failure messages; a test that merely times out
says nothing about which await never returned."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor


def describe_tasks(limit: int = 30) -> str:
    loop = asyncio.get_running_loop()
    lines = []
    pending = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in pending[:limit]:
        frames = [
            f"{frame.f_code.co_filename.rsplit('/', 1)[-1]}:{frame.f_lineno} {frame.f_code.co_name}"
            for frame in task.get_stack(limit=6)
        ]
        lines.append(f"  {task.get_name()}: " + " > ".join(frames))
    executor = getattr(loop, "_default_executor", None)  # asyncio keeps it private
    if isinstance(executor, ThreadPoolExecutor):
        lines.append(
            f"  default executor: {len(executor._threads)} threads of {executor._max_workers}, "
            f"{executor._work_queue.qsize()} calls queued"
        )
    return "\n".join(lines)
