"""Table rows: what the templates render and what the live-update JSON sends."""

from __future__ import annotations

from climasense.web import tables
from climasense.web.views import Command, DeviceSummary, FleetDevice


def test_a_cell_sends_only_the_options_it_has() -> None:
    # The page's script reads the live JSON; an option that is absent must not arrive as null.
    assert tables.cell(None).as_json() == {"text": "—"}
    assert tables.cell("").as_json() == {"text": "—"}
    assert tables.cell(0).as_json() == {"text": "0"}
    assert tables.cell("x", href="/d/1", cls="value", pre=True, badge="b").as_json() == {
        "text": "x",
        "href": "/d/1",
        "cls": "value",
        "pre": True,
        "badge": "b",
    }
    assert tables.blank().as_json() == {"text": ""}
    assert tables.button("Cancel", "/c/1/cancel").as_json() == {
        "text": "",
        "form": {"action": "/c/1/cancel", "label": "Cancel"},
    }


def test_a_fleet_row_from_a_listed_device() -> None:
    device = DeviceSummary.from_json(
        {
            "device_id": "4c38294b-0279-40c6-bd0c-4d799405bae3",
            "serial_number": "CS-ST-0000001",
            "kind": "standalone",
            "model": "CS-100",
            "batch": "b1",
            "status": "revoked",
            "online": True,
            "last_seen_at": None,
            "firmware_version": None,
            "tags": ["roof", "north"],
        }
    )
    row = tables.fleet_row(
        FleetDevice(device=device, battery_level=None, signal_strength=None, open_alerts=None)
    )
    found = row.as_json()
    assert found["id"] == "4c38294b-0279-40c6-bd0c-4d799405bae3"
    texts = [c["text"] for c in found["cells"]]
    assert texts[0] == "CS-ST-0000001"
    assert found["cells"][1] == {"text": "revoked", "badge": "revoked"}
    assert texts[9] == "n/a"
    assert texts[10:] == ["—", "roof north"]


def test_a_finished_command_has_no_cancel_button_and_shows_its_result() -> None:
    command = Command.from_json(
        {
            "command_id": "c1",
            "type": "config_update",
            "status": "acked",
            "created_at": "2026-05-01T12:00:00Z",
            "acked_at": "2026-05-01T12:00:05Z",
            "settings_version": 7,
            "result": {"ok": True},
        }
    )
    (row,) = tables.command_rows([command], "d1", {"c1": "alice"})
    cells = row.as_json()["cells"]
    assert cells[4]["text"] == "2026-05-01 12:00:05 UTC"
    assert cells[5]["text"].startswith("settings version 7\n{")
    assert cells[6] == {"text": "alice"}
    assert cells[7] == {"text": ""}
