"""Dashboard fleet operations: tags/label, tag filter, bulk job with a progress page, release
with percentage and widen, CSV downloads — through a signed-in browser session."""

from __future__ import annotations

import csv
import io
import re
import uuid

from tests.integration.web.test_dashboard import _csrf, signed_in
from tests.support.factories import bearer, provision
from tests.support.server import LiveServer


async def test_tags_filter_bulk_job_and_csv(server: LiveServer, token: str) -> None:
    batch, mark = "u" + uuid.uuid4().hex[:10], "t" + uuid.uuid4().hex[:10]
    devices = await provision(server.client, token, batch=batch, count=3)
    async with signed_in(server, token) as client:
        page = await client.get(f"/devices/{devices[0]['device_id']}")
        saved = await client.post(
            f"/devices/{devices[0]['device_id']}/tags",
            data={"csrf_token": _csrf(page.text), "tags": f"{mark} boat", "label": "Sea Breeze"},
        )
        assert saved.status_code == 303
        page = await client.get(f"/devices/{devices[0]['device_id']}")
        assert "Sea Breeze" in page.text
        assert mark in page.text
        fleet = await client.get("/", params={"tag": mark})
        assert devices[0]["serial_number"] in fleet.text
        assert devices[1]["serial_number"] not in fleet.text
        assert "Bulk action" in fleet.text
        # A bulk command from the current filter (batch): a job and its progress page.
        fleet = await client.get("/", params={"batch": batch})
        selector = re.search(r'name="selector" value="([^"]+)"', fleet.text)
        assert selector is not None
        created = await client.post(
            "/ui/bulk",
            data={
                "csrf_token": _csrf(fleet.text),
                "selector": selector.group(1).replace("&#34;", '"'),
                "action": "command",
                "command": "diagnostics",
            },
        )
        assert created.status_code == 303, created.text
        assert created.headers["location"].startswith("/jobs/")
        job_page = await client.get(created.headers["location"])
        assert job_page.status_code == 200
        assert 'data-field="job-queued">3<' in job_page.text
        # The dashboard's changes are audited under the signed-in operator's token.
        me = (await server.client.get("/admin/v1/whoami", headers=bearer(token))).json()
        job_id = created.headers["location"].removeprefix("/jobs/").split("?")[0]
        for action, target in (
            ("device.update", devices[0]["device_id"]),
            ("job.create", job_id),
        ):
            audit = await server.client.get(
                "/admin/v1/audit",
                params={"action": action, "target_id": target},
                headers=bearer(token),
            )
            [entry] = audit.json()["entries"]
            assert entry["actor"]["token_id"] == me["token_id"]
        # The unfiltered fleet page offers no bulk form (never the whole fleet).
        assert 'action="/ui/bulk"' not in (await client.get("/")).text
        download = await client.get("/ui/export/devices.csv", params={"batch": batch})
        assert download.headers["content-type"].startswith("text/csv")
        table = list(csv.reader(io.StringIO(download.text)))
        assert len(table) == 1 + 3
        readings = await client.get(f"/devices/{devices[0]['device_id']}/telemetry.csv")
        assert readings.text.startswith("timestamp,sensor_type,sensor_id,value")


async def test_release_form_with_percentage_and_widen(server: LiveServer, token: str) -> None:
    model = "M-" + uuid.uuid4().hex[:8]
    upload = await server.client.put(
        f"/admin/v1/firmware/{model}/2.0.0",
        content=b"fw",
        headers={**bearer(token), "Content-Type": "application/octet-stream"},
    )
    assert upload.status_code == 201
    async with signed_in(server, token) as client:
        page = await client.get("/firmware")
        created = await client.post(
            "/firmware/releases",
            data={
                "csrf_token": _csrf(page.text),
                "model": model,
                "version": "2.0.0",
                "tags_any": "canary",
                "percentage": "10",
            },
        )
        assert created.status_code == 303
        release_id = created.headers["location"].split("release=")[1]
        page = await client.get(created.headers["location"])
        assert "10 %" in page.text
        assert "Widen" in page.text
        widened = await client.post(
            f"/firmware/releases/{release_id}/widen",
            data={"csrf_token": _csrf(page.text), "percentage": "50"},
        )
        assert widened.status_code == 303
        release = await server.client.get(f"/admin/v1/releases/{release_id}", headers=bearer(token))
        assert release.json()["percentage"] == 50
        assert release.json()["selector"] == {"tags_any": ["canary"]}
