"""`climasense worker`: only the background worker, for scale-out."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

import click
import uvicorn

from climasense.api.metrics_routes import WorkerMetricsApp
from climasense.cli.context import check_database, resolve_database
from climasense.cli.event_loop import loop_factory
from climasense.observability import logging as log_setup
from climasense.observability import metrics
from climasense.runtime import build_services
from climasense.services import Services
from climasense.settings import Settings

log = logging.getLogger("climasense.worker")


@click.command()
@click.option(
    "--metrics-port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Serve /metrics and /healthz on this port (for Prometheus and health checks).",
)
@click.option("--metrics-host", default="127.0.0.1", show_default=True)
def worker(metrics_port: int | None, metrics_host: str) -> None:
    """Run only the background worker (alert evaluation, offline detection, webhooks, expiry)."""
    settings = Settings.from_env()
    log_setup.configure(settings.log_format, settings.log_level)
    resolved, embedded = resolve_database(settings)

    async def run() -> None:
        await check_database(resolved.database_url)
        metrics.install()
        services = await build_services(resolved.with_overrides(run_worker=True))
        services.spawn(metrics.flush_forever(), "metrics-flush")
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):
                loop.add_signal_handler(sig, stop.set)
        metrics_server = None
        if metrics_port is not None:
            metrics_server = await _MetricsServer.start(services, metrics_host, metrics_port)
        log.info("ClimaSense worker running")
        try:
            await stop.wait()
        finally:
            if metrics_server is not None:
                await metrics_server.stop()
            await services.close()

    try:
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            runner.run(run())
    finally:
        if embedded is not None:
            embedded.stop()


class _MetricsServer:
    """uvicorn in the worker's event loop, serving only `WorkerMetricsApp`."""

    def __init__(self, server: uvicorn.Server, task: asyncio.Task[None]) -> None:
        self.server = server
        self.task = task

    @classmethod
    async def start(cls, services: Services, host: str, port: int) -> _MetricsServer:
        config = uvicorn.Config(
            WorkerMetricsApp(services),
            host=host,
            port=port,
            lifespan="off",
            access_log=False,
            log_config=None,
            server_header=False,
        )
        server = uvicorn.Server(config)
        task = asyncio.create_task(server.serve())
        while not server.started:
            if task.done():
                task.result()
                raise click.ClickException(f"cannot serve metrics on {host}:{port}")
            await asyncio.sleep(0.02)
        log.info("worker metrics on http://%s:%s/metrics", host, port)
        return cls(server, task)

    async def stop(self) -> None:
        self.server.should_exit = True
        with contextlib.suppress(Exception):
            await self.task
