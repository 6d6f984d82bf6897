"""`climasense serve` and `climasense migrate`."""

from __future__ import annotations

import asyncio
import fcntl
import logging
import os
import shutil
import signal
import tempfile
from pathlib import Path

import click

from climasense.cli.context import check_database, database, resolve_database
from climasense.cli.worker_process import WorkerProcess
from climasense.errors import ConfigurationError
from climasense.observability import logging as log_setup
from climasense.observability import metrics
from climasense.settings import Settings

log = logging.getLogger("climasense.serve")


@click.command("migrate")
def migrate_command() -> None:
    """Bring the database schema up to date."""

    async def run() -> None:
        async with database(Settings.from_env()):
            pass

    asyncio.run(run())
    click.echo("database schema is up to date")


def _lock_data_dir(data_dir: Path) -> int:
    data_dir.mkdir(parents=True, exist_ok=True)
    fd = os.open(data_dir / "serve.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        raise ConfigurationError(
            f"another `climasense serve` is already running on the data folder {data_dir}; "
            "stop it first, or point this one at another CLIMASENSE_DATA_DIR"
        ) from None
    return fd


def _exit_quietly(signum: int, frame: object) -> None:
    raise SystemExit(0)


@click.command()
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=click.IntRange(1, 64))
@click.option(
    "--no-worker",
    is_flag=True,
    help="Do not run the background worker (run `climasense worker` elsewhere).",
)
def serve(host: str, port: int, workers: int, no_worker: bool) -> None:
    """Run the API (device + operator + dashboard) and, by default, the background worker (as its
    own process beside the API processes)."""
    import uvicorn

    from climasense.http.protocol import CoalescingHttpToolsProtocol

    settings = Settings.from_env()
    log_setup.configure(settings.log_format, settings.log_level)
    metrics_dir = _metrics_dir()
    lock_fd = _lock_data_dir(settings.data_dir) if settings.database_url is None else None
    resolved, embedded = resolve_database(settings)
    worker_process: WorkerProcess | None = None
    try:
        asyncio.run(check_database(resolved.database_url))
        # Worker processes build their settings from the environment: hand them the embedded
        # database's URL and the server secret this process resolved.
        os.environ["CLIMASENSE_DATABASE_URL"] = resolved.database_url
        os.environ.setdefault("CLIMASENSE_SECRET_KEY", resolved.resolved_secret_key())
        # The API processes never run the worker: `serve` starts it as its own process (see
        # cli/worker_process.py), unless --no-worker / CLIMASENSE_RUN_WORKER=0.
        os.environ["CLIMASENSE_RUN_WORKER"] = "0"
        if not no_worker and settings.run_worker:
            worker_process = WorkerProcess()
            worker_process.start()
        log.info("ClimaSense listening on http://%s:%s (docs at /docs)", host, port)
        # uvicorn shuts down gracefully on SIGTERM/SIGINT, then re-raises the signal to the
        # handler that was installed before it: make that an orderly exit, so the `finally`
        # below stops the embedded PostgreSQL.
        signal.signal(signal.SIGTERM, _exit_quietly)
        signal.signal(signal.SIGINT, _exit_quietly)
        uvicorn.run(
            "climasense.api.app:app_from_env",
            factory=True,
            host=host,
            port=port,
            workers=workers if workers > 1 else None,
            log_level=settings.log_level,
            # Every process logs as this one (JSON or text); the access entries are ours
            # (climasense.observability.requests), uvicorn's own access log is off.
            log_config=log_setup.log_config(settings.log_format, settings.log_level),
            access_log=False,
            timeout_graceful_shutdown=20,
            server_header=False,
            # Which peers' X-Forwarded-For/-Proto count is CLIMASENSE_TRUSTED_PROXIES' decision
            # (climasense.proxies), not uvicorn's loopback default.
            proxy_headers=False,
            # A bound on open connections and requests in flight: past it, 503 at once.
            limit_concurrency=settings.max_concurrent_connections,
            # One send(2) per response instead of two (see climasense.http.protocol).
            http=CoalescingHttpToolsProtocol,
        )
    finally:
        if worker_process is not None:
            worker_process.stop()
        if embedded is not None:
            embedded.stop()
        if lock_fd is not None:
            os.close(lock_fd)
        if metrics_dir is not None:
            shutil.rmtree(metrics_dir, ignore_errors=True)


def _metrics_dir() -> str | None:
    """Where the processes of this run keep their metrics, summed by `/metrics` (see
    observability/metrics.py). A given PROMETHEUS_MULTIPROC_DIR is emptied and kept; otherwise
    a fresh temporary directory, removed at exit (returned)."""
    given = os.environ.get(metrics.MULTIPROC_ENV)
    if given:
        metrics.prepare_multiprocess_dir(given)
        return None
    created = tempfile.mkdtemp(prefix="climasense-metrics-")
    os.environ[metrics.MULTIPROC_ENV] = created
    return created
