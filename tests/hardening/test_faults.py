"""Faults under load (bounded, loopback only): PostgreSQL stopped with `-m immediate` and
restarted, latency and resets between the server and PostgreSQL, SIGTERM and SIGKILL of an API
process. What the clients were told must be what is in the database."""

from __future__ import annotations

import asyncio
import itertools
import json
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from climasense.db.embedded import EmbeddedPostgres
from tests.conftest import make_settings
from tests.hardening.cluster import api_process, cluster_env, operator_token
from tests.hardening.fleet import telemetry_routed, unlimited
from tests.hardening.load import Answer, Journal, TelemetryLoad, deliver
from tests.support.factories import admin_token, bearer, provision
from tests.support.server import free_port, live_server
from tests.support.tcp_proxy import TcpProxy

pytestmark = pytest.mark.slow

RECOVERY_SECONDS = 10
PACE = 0.03  # between one client's requests
GRACEFUL_TIMEOUT = 20  # uvicorn's timeout_graceful_shutdown in `climasense serve`


@dataclass
class AckLoad:
    """Devices acknowledging queued commands, each ack carrying a result to find again."""

    keys: dict[str, str]  # device_id -> key
    commands: dict[str, list[str]]  # device_id -> command ids
    journal: Journal = field(default_factory=Journal)
    acked: dict[str, dict[str, str]] = field(default_factory=dict)  # command id -> result
    final: dict[str, int | None] = field(default_factory=dict)  # command id -> last status

    async def run(self, clients: list[httpx.AsyncClient], deadline: float) -> None:
        async def device(device_id: str) -> None:
            for command_id in self.commands[device_id]:
                result = {"token": f"r-{command_id}"}
                body = {"command_id": command_id, "status": "acked", "result": result}
                response = await deliver(
                    clients,
                    lambda c, b=body: c.post(  # type: ignore[misc]
                        "/v1/commands/ack", json=b, headers=bearer(self.keys[device_id])
                    ),
                    self.journal,
                    deadline=deadline,
                )
                self.final[command_id] = None if response is None else response.status_code
                if response is not None and response.status_code == 200:
                    self.acked[command_id] = result
                await asyncio.sleep(PACE)

        await asyncio.gather(*(device(d) for d in self.commands))

    async def verify(self, database_url: str) -> None:
        """Every ack answered 200 is stored, with its result, exactly once."""
        conn = await asyncpg.connect(database_url)
        try:
            rows = await conn.fetch(
                "SELECT command_id::text AS id, status, result, acked_at FROM commands "
                "WHERE device_id = ANY($1::uuid[])",
                list(self.keys),
            )
        finally:
            await conn.close()
        stored = {r["id"]: r for r in rows}
        expected = {c for cs in self.commands.values() for c in cs}
        assert set(stored) == expected  # nothing lost, nothing made up
        for command_id, result in self.acked.items():
            row = stored[command_id]
            assert row["status"] == "acked", (command_id, row["status"])
            assert row["acked_at"] is not None
            assert json.loads(row["result"]) == result


@dataclass
class SettingsLoad:
    """Devices changing their own settings again and again (a new value each time)."""

    keys: dict[str, str]
    journal: Journal = field(default_factory=Journal)
    versions: dict[str, dict[int, int]] = field(default_factory=dict)  # device -> version -> value

    async def run(self, clients: list[httpx.AsyncClient], stop: asyncio.Event) -> None:
        async def device(device_id: str) -> None:
            seen = self.versions.setdefault(device_id, {})
            for i in itertools.count():
                if stop.is_set():
                    return
                value = 60 + i % 3000
                response = await deliver(
                    clients,
                    lambda c, v=value: c.patch(  # type: ignore[misc]
                        "/v1/settings",
                        json={"reporting_interval_seconds": v},
                        headers=bearer(self.keys[device_id]),
                    ),
                    self.journal,
                    deadline=time.monotonic() + 30,
                )
                if response is not None and response.status_code == 200:
                    document = response.json()
                    version = document["version"]
                    # One version, one document: a commit is never reported twice.
                    assert seen.setdefault(version, value) == value, (version, seen[version])
                    assert document["reporting_interval_seconds"] == value
                await asyncio.sleep(PACE)

        await asyncio.gather(*(device(d) for d in self.keys))

    async def verify(self, clients: list[httpx.AsyncClient]) -> None:
        for device_id, key in self.keys.items():
            current = (await clients[0].get("/v1/settings", headers=bearer(key))).json()
            seen = self.versions[device_id]
            assert seen, device_id
            assert current["version"] >= max(seen)
            if current["version"] in seen:
                assert current["reporting_interval_seconds"] == seen[current["version"]]


async def queue_commands(
    client: httpx.AsyncClient, token: str, device_ids: list[str], per_device: int
) -> dict[str, list[str]]:
    commands: dict[str, list[str]] = {}
    for device_id in device_ids:
        for _ in range(per_device):
            sent = await client.post(
                f"/admin/v1/devices/{device_id}/commands",
                json={"type": "diagnostics"},
                headers=bearer(token),
            )
            assert sent.status_code == 201, sent.text
            commands.setdefault(device_id, []).append(sent.json()["command_id"])
    return commands


TELEMETRY_ROUTED = telemetry_routed()


@dataclass
class Workload:
    """Acks, settings changes and (once telemetry is routed) readings, all at once."""

    acks: AckLoad
    patches: SettingsLoad
    telemetry: TelemetryLoad | None
    stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    async def create(
        cls, client: httpx.AsyncClient, token: str, name: str, *, acks_each: int, batches: int
    ) -> Workload:
        ackers = await provision(client, token, count=4, batch=f"{name}-ack")
        patchers = await provision(client, token, count=2, batch=f"{name}-patch")
        senders = await provision(client, token, count=3, batch=f"{name}-telemetry")
        return cls(
            acks=AckLoad(
                keys={d["device_id"]: d["api_key"] for d in ackers},
                commands=await queue_commands(
                    client, token, [d["device_id"] for d in ackers], per_device=acks_each
                ),
            ),
            patches=SettingsLoad(keys={d["device_id"]: d["api_key"] for d in patchers}),
            telemetry=TelemetryLoad({d["device_id"]: d["api_key"] for d in senders}, batches)
            if TELEMETRY_ROUTED
            else None,
        )

    def start(self, clients: list[httpx.AsyncClient], seconds: float = 60) -> asyncio.Future[Any]:
        deadline = time.monotonic() + seconds
        runs = [self.acks.run(clients, deadline), self.patches.run(clients, self.stop)]
        if self.telemetry is not None:
            runs.append(self.telemetry.run(clients, deadline))
        return asyncio.gather(*runs)

    @property
    def journals(self) -> list[Journal]:
        extra = [] if self.telemetry is None else [self.telemetry.journal]
        return [self.acks.journal, self.patches.journal, *extra]

    def answers(self) -> list[Answer]:
        return [a for j in self.journals for a in j.answers]

    async def verify(self, database_url: str, client: httpx.AsyncClient) -> str:
        """Everything confirmed is stored (exactly once); a summary of what was checked."""
        assert set(self.acks.final.values()) == {200}  # every ack got through in the end
        await self.acks.verify(database_url)
        await self.patches.verify([client])
        summary = (
            f"{len(self.acks.acked)} acks and "
            f"{sum(map(len, self.patches.versions.values()))} settings versions"
        )
        if self.telemetry is not None:
            assert self.telemetry.unconfirmed_batches == 0
            lost = await self.telemetry.verify(database_url)
            assert lost == 0, f"{lost} readings answered 202 are missing"
            summary = (
                f"{len(self.telemetry.confirmed)} readings (of which "
                f"{self.telemetry.duplicates} reported as duplicates on retry), {summary}"
            )
        return summary + " confirmed and stored exactly once, 0 lost"


@pytest.fixture
async def own_postgres(tmp_path: Path) -> AsyncIterator[tuple[EmbeddedPostgres, int, str]]:
    """A throwaway cluster of this test's own, which it may stop and start on the same port."""
    cluster = EmbeddedPostgres(tmp_path / "cluster")
    port = free_port()
    dsn, _ = await asyncio.to_thread(cluster.start, port)
    try:
        yield cluster, port, dsn
    finally:
        await asyncio.to_thread(cluster.stop, "immediate")


def assert_only_ok_or_unavailable(journal: Journal) -> None:
    allowed: set[int | None] = {200, 202, 503}
    assert journal.unexpected(allowed) == [], journal.unexpected(allowed)[:5]
    assert journal.unavailable_without_retry_after() == []


async def test_postgres_immediate_stop_and_restart_under_write_load(
    own_postgres: tuple[EmbeddedPostgres, int, str], tmp_path: Path
) -> None:
    cluster, port, dsn = own_postgres
    settings = make_settings(dsn, tmp_path, rate_limits=unlimited(), run_worker=False)
    async with live_server(settings) as server:
        token = await admin_token(server.services)
        work = await Workload.create(server.client, token, "pg", acks_each=100, batches=150)
        load = work.start([server.client])

        await asyncio.sleep(1.0)
        down_at = time.monotonic()
        await asyncio.to_thread(cluster.stop, "immediate")
        await asyncio.sleep(2.0)
        await asyncio.to_thread(cluster.start, port)
        up_at = time.monotonic()
        await asyncio.sleep(RECOVERY_SECONDS / 2)
        work.stop.set()
        await asyncio.wait_for(load, 60)

        recovered = []
        for journal in work.journals:
            assert_only_ok_or_unavailable(journal)
            recovered.append(journal.first_success_after(up_at))
            assert recovered[-1] is not None
            assert recovered[-1] <= RECOVERY_SECONDS, recovered
        outage = [a for a in work.answers() if a.status == 503]
        assert outage, "the outage was not seen by any client"
        assert all(down_at <= a.at for a in outage)
        summary = await work.verify(dsn, server.client)
        print(
            f"postgres -m immediate: {len(outage)} x 503 over {up_at - down_at:.1f} s down, "
            f"recovered in {max(r or 0 for r in recovered):.2f} s; {summary}"
        )


async def test_latency_and_resets_between_server_and_postgres(
    database_url: str, tmp_path: Path
) -> None:
    proxy = await TcpProxy.for_url(database_url).start()
    try:
        settings = make_settings(
            proxy.url_through(database_url), tmp_path, rate_limits=unlimited(), run_worker=False
        )
        async with live_server(settings) as server:
            token = await admin_token(server.services)
            work = await Workload.create(server.client, token, "lag", acks_each=25, batches=40)
            load = work.start([server.client], seconds=90)
            # 20-100 ms on every chunk each way (a slow or distant database), then connections
            # reset twice mid-traffic, then back to normal.
            for latency in (0.02, 0.05, 0.1):
                proxy.latency = latency
                await asyncio.sleep(1.0)
            for _ in range(2):
                proxy.reset_all()
                await asyncio.sleep(0.5)
            proxy.latency = 0
            reset_done = time.monotonic()
            await asyncio.sleep(1.0)
            work.stop.set()
            await asyncio.wait_for(load, 90)

            for journal in work.journals:
                assert_only_ok_or_unavailable(journal)
                recovered = journal.first_success_after(reset_done)
                assert recovered is not None
                assert recovered <= RECOVERY_SECONDS
            summary = await work.verify(database_url, server.client)
            answers = work.answers()
            print(
                f"latency 20-100 ms + 2 resets: {len(answers)} requests, "
                f"{sum(a.status == 503 for a in answers)} x 503, no other error; {summary}"
            )
    finally:
        await proxy.stop()


async def test_sigterm_lets_in_flight_requests_finish(database_url: str, tmp_path: Path) -> None:
    proxy = await TcpProxy.for_url(database_url).start()
    try:
        env = cluster_env(proxy.url_through(database_url), tmp_path / "data")
        async with api_process("api", env, tmp_path) as api:
            assert api.url is not None
            async with httpx.AsyncClient(base_url=api.url, timeout=60) as client:
                token = await operator_token(database_url)
                devices = await provision(client, token, count=8, batch="sigterm")
                for device in devices:  # credentials cached: only the handler is slow
                    warm = await client.get("/v1/settings", headers=bearer(device["api_key"]))
                    assert warm.status_code == 200
                proxy.latency = 0.15  # every database round trip now takes >= 0.3 s
                in_flight = [
                    asyncio.create_task(
                        client.patch(
                            "/v1/settings",
                            json={"reporting_interval_seconds": 120},
                            headers=bearer(device["api_key"]),
                        )
                    )
                    for device in devices
                ]
                readings = TelemetryLoad({d["device_id"]: d["api_key"] for d in devices}, 1)
                if TELEMETRY_ROUTED:  # batches waiting in the group-commit writer
                    in_flight += [
                        asyncio.create_task(
                            client.post(
                                "/v1/telemetry",
                                json=readings.body(device["device_id"], 0),
                                headers=bearer(device["api_key"]),
                            )
                        )
                        for device in devices
                    ]
                await asyncio.sleep(0.5)
                assert not any(task.done() for task in in_flight)
                signalled = time.monotonic()
                api.popen.send_signal(signal.SIGTERM)
                responses = await asyncio.wait_for(asyncio.gather(*in_flight), 30)
                exit_code = await asyncio.to_thread(api.popen.wait, 30)
                exited_after = time.monotonic() - signalled
                with pytest.raises(httpx.TransportError):
                    await client.get("/healthz")  # no longer listening
            assert [r.status_code for r in responses[: len(devices)]] == [200] * len(devices)
            assert all(r.json()["version"] == 2 for r in responses[: len(devices)])
            if TELEMETRY_ROUTED:
                assert [r.status_code for r in responses[len(devices) :]] == [202] * len(devices)
                for device in devices:
                    readings.confirmed.update(
                        {
                            (device["device_id"], ts): v
                            for ts, v in readings.batch(device["device_id"], 0)
                        }
                    )
                    readings.sent.update(readings.confirmed)
                assert await readings.verify(database_url) == 0
            assert exit_code == 0, api.tail()
            assert exited_after < GRACEFUL_TIMEOUT, exited_after
            print(
                f"SIGTERM: {len(responses)} requests in flight all answered and committed, "
                f"process exited 0 after {exited_after:.1f} s"
            )
    finally:
        await proxy.stop()


async def test_kill_9_of_one_api_process_under_load(database_url: str, tmp_path: Path) -> None:
    env = cluster_env(database_url, tmp_path / "data")
    async with (
        api_process("api-a", {**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "a")}, tmp_path) as a,
        api_process("api-b", {**env, "CLIMASENSE_DATA_DIR": str(tmp_path / "b")}, tmp_path) as b,
        httpx.AsyncClient(base_url=a.url or "", timeout=10) as client_a,
        httpx.AsyncClient(base_url=b.url or "", timeout=10) as client_b,
    ):
        token = await operator_token(database_url)
        work = await Workload.create(client_a, token, "kill9", acks_each=60, batches=80)
        # Both processes take traffic (a load balancer in front); a client whose request
        # fails retries on the other.
        load = work.start([client_a, client_b])
        await asyncio.sleep(1.0)
        a.popen.kill()
        killed_at = time.monotonic()
        await asyncio.to_thread(a.popen.wait, 10)
        await asyncio.sleep(2.0)
        work.stop.set()
        await asyncio.wait_for(load, 90)

        allowed: set[int | None] = {200, 202, None}  # None: the connection to the killed process
        for journal in work.journals:
            assert journal.unexpected(allowed) == [], journal.unexpected(allowed)[:5]
            assert journal.first_success_after(killed_at) is not None
        failures = Counter(a.error for a in work.answers() if a.status is None)
        summary = await work.verify(database_url, client_b)
    print(
        f"kill -9: failed attempts {dict(failures)} (in flight, then refused), each retried "
        f"on the other process; {summary}"
    )
