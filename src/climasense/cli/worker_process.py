"""`climasense serve`'s background worker as its own process (the default).

Alert evaluation inside the API process shares its event loop and its core with the requests:
every evaluator batch delays the telemetry answers waiting behind it (p99 at half the maximum
rate 40 ms with one API process, 54 ms with `--workers 2`, against 14–17 ms with the worker
apart; docs/performance.md). So `serve` runs the API processes without the worker and starts one
`climasense worker` beside them (at a lower CPU priority), restarted if it fails, stopped with
the server. Periodic jobs take advisory locks and the evaluator claims outbox shards, so this
changes where the work runs, not what it does.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading

log = logging.getLogger(__name__)

RESTART_DELAY_SECONDS = 2.0
# The worker's work waits in the outbox; a request's answer does not: on a busy host the API
# processes come first (measured: p99 at half the maximum rate 20.7/31.0 ms with the worker at
# nice 10 against 30.4/42.4 ms at nice 0, two interleaved pairs, docs/performance.md). Under
# sustained saturation alerts therefore lag behind the requests, not the other way round.
WORKER_NICENESS = 10


class WorkerProcess:
    """A `climasense worker` child with the environment `serve` resolved (database URL, secret)."""

    def __init__(self) -> None:
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._watcher: threading.Thread | None = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    def start(self) -> None:
        self._spawn()
        self._watcher = threading.Thread(target=self._watch, name="worker-process", daemon=True)
        self._watcher.start()

    def _spawn(self) -> None:
        env = {**os.environ, "CLIMASENSE_RUN_WORKER": "1"}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "climasense", "worker"], env=env, stdin=subprocess.DEVNULL
        )
        try:
            os.setpriority(os.PRIO_PROCESS, self._process.pid, WORKER_NICENESS)
        except OSError:  # already gone (the watcher reports it) or not permitted: run as is
            log.debug("could not lower the worker's CPU priority", exc_info=True)

    def _watch(self) -> None:
        while not self._stopping.is_set():
            process = self._process
            if process is None:
                return
            code = process.wait()
            # 0: it was asked to stop (Ctrl-C reaches the whole process group) — so is serve.
            if code == 0 or self._stopping.wait(RESTART_DELAY_SECONDS):
                return
            log.warning("the background worker exited with %s; starting it again", code)
            self._spawn()

    def stop(self, timeout: float = 20.0) -> None:
        self._stopping.set()
        process = self._process
        if process is not None and process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        if self._watcher is not None:
            self._watcher.join(timeout)
