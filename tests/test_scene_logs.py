"""Agreed scene logs over real sockets: stored only with everyone's consent, encrypted,
shredded on withdrawal; exports carry a fingerprint `tryst trace` follows back; and
franked messages verify while forged or altered ones do not."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import select

from tests.client import Ws
from tests.conftest import Running
from tests.test_conversations import opened, person, wait_text
from tests.test_scenes import running, scene_events, wait_kind
from tryst.domain import fingerprint
from tryst.storage.tables import metadata

TRYST = [sys.executable, "-m", "tryst"]


async def stored_text(server: Running) -> str:
    """Every row of every table, as text: what the database would give an intruder."""
    out = []
    async with server.tryst.engine.connect() as conn:
        for table in metadata.sorted_tables:
            for row in await conn.execute(select(table)):
                out.append(repr(tuple(row)))
    return "\n".join(out)


async def count(server: Running, table: str) -> int:
    async with server.tryst.engine.connect() as conn:
        return len((await conn.execute(select(metadata.tables[table]))).all())


def key_files(server: Running) -> list[str]:
    folder = server.tryst.settings.resolved_key_dir() / "scene-log"
    return sorted(p.name for p in folder.glob("*.key")) if folder.is_dir() else []


def trace(server: Running, path: Path) -> subprocess.CompletedProcess[str]:
    settings = server.tryst.settings
    return subprocess.run(
        [*TRYST, "trace", str(path), "--data-dir", str(settings.data_dir),
         "--database-url", settings.resolved_database_url()],
        capture_output=True, text=True, timeout=120, check=False)


async def logged_scene(server: Running) -> tuple[str, dict[str, Any], Ws, dict[str, Any], Ws]:
    _, pa, wa = await person(server, "Quinn Log")
    _, pb, wb = await person(server, "Rae Log")
    await opened(wa, wb, pb)
    sid = await running(wa, wb, pb, ["text", "logging"], {"text": True, "logging": True})
    return sid, pa, wa, pb, wb


async def test_nothing_is_stored_unless_everyone_turned_logging_on(server: Running) -> None:
    _, _, wa = await person(server, "Sam Log")
    _, pb, wb = await person(server, "Tia Log")
    await opened(wa, wb, pb)
    # The proposer logs, the other does not: nothing of the scene is written anywhere.
    sid = await running(wa, wb, pb, ["text", "logging"], {"text": True})
    await wa.ok("scene_send", scene=sid, text="an unlogged line 7f3a")
    await wb.wait_for(lambda: scene_events(wb, sid, "say"))
    assert await count(server, "scene_logs") == 0
    assert "7f3a" not in await stored_text(server)
    assert "A quiet evening" not in await stored_text(server)  # nor the card
    assert (await wa.ok("logs"))["logs"] == []
    # The consent record is kept: who granted which channel, never what was said.
    assert await count(server, "consent_records") >= 3


async def test_agreed_log_is_encrypted_exported_traced_and_shredded(
        server: Running, tmp_path: Path) -> None:
    sid, pa, wa, pb, wb = await logged_scene(server)
    await wa.ok("scene_send", scene=sid, text="the lantern flickers 91c2", style="pose")
    await wb.ok("scene_send", scene=sid, text="I hold it steady 91c2")
    await wa.wait_for(lambda: scene_events(wa, sid, "say"))
    # Stored, but only as ciphertext under a key kept outside the database.
    assert await count(server, "scene_log_entries") == 3  # the card and two lines
    assert "91c2" not in await stored_text(server)
    assert key_files(server) == [f"{sid}.key"]
    (summary,) = (await wb.ok("logs"))["logs"]
    assert summary["id"] == sid and summary["title"] == "A quiet evening"
    assert sorted(p["name"] for p in summary["participants"]) == ["Quinn Log", "Rae Log"]
    # Each export is fingerprinted for itself.
    text = await wb.ok("export_log", log=sid, format="text")
    page = await wa.ok("export_log", log=sid, format="html")
    assert text["export"] != page["export"]
    visible = text["content"].replace(fingerprint.MARK, "")
    for ch in fingerprint.ALPHABET:
        visible = visible.replace(ch, "")
    assert "Quinn Log the lantern flickers 91c2" in visible
    assert "Rae Log: I hold it steady 91c2" in visible
    assert "<p>" in page["content"] and page["export"] in page["content"]
    # A single line copied out of the text export still traces to Rae's export.
    line = next(x for x in text["content"].splitlines() if "lantern" in x)
    leaked = tmp_path / "leak.txt"
    leaked.write_text(f"look what I found:\n{line}\n", "utf-8")
    result = trace(server, leaked)
    assert result.returncode == 0, result.stderr
    (found,) = [json.loads(x) for x in result.stdout.splitlines()]
    assert found["export"] == text["export"] and found["log"] == sid
    assert found["persona"] == {"id": pb["id"], "name": "Rae Log"}
    assert found["format"] == "text"
    page_file = tmp_path / "page.html"
    page_file.write_text(page["content"], "utf-8")
    (from_page,) = [json.loads(x) for x in trace(server, page_file).stdout.splitlines()]
    assert from_page["persona"]["id"] == pa["id"]
    # Text with the marks stripped, or marks this server did not make, traces to nothing.
    stripped = tmp_path / "stripped.txt"
    stripped.write_text(visible, "utf-8")
    assert trace(server, stripped).returncode == 1
    forged = tmp_path / "forged.txt"
    forged.write_text("x" + fingerprint.encode(bytes(12)) + " y", "utf-8")
    assert trace(server, forged).returncode == 1
    # Quinn withdraws consent: the key is destroyed and the log is unreadable.
    await wa.ok("revoke", scene=sid, channel="logging")
    (shred,) = await wait_kind(wb, sid, "logging")
    assert shred["data"] == {"on": False, "shredded": True}
    assert key_files(server) == []
    assert await count(server, "scene_log_entries") == 0
    gone = await wb.fail("export_log", log=sid, format="text")
    assert gone["code"] == "not_found"
    (after,) = (await wb.ok("logs"))["logs"]
    assert after["shredded_at"] is not None and after["title"] is None
    # Nothing more is logged once anyone has withdrawn.
    await wb.ok("scene_send", scene=sid, text="after the shred 55aa")
    await wa.wait_for(lambda: [e for e in scene_events(wa, sid, "say")
                               if "55aa" in e["text"]])
    assert await count(server, "scene_log_entries") == 0
    # An export made before the shred can still be traced.
    assert trace(server, leaked).returncode == 0


async def test_withdrawing_after_the_scene_ended_shreds_the_log(server: Running) -> None:
    sid, _, wa, _, wb = await logged_scene(server)
    await wa.ok("scene_send", scene=sid, text="a line to keep")
    await wb.wait_for(lambda: scene_events(wb, sid, "say"))
    await wa.ok("end_scene", scene=sid)
    await wait_kind(wb, sid, "ended")
    assert (await wb.ok("export_log", log=sid))["content"]
    await wb.ok("withdraw_log", log=sid)
    assert key_files(server) == []
    assert (await wa.fail("export_log", log=sid))["code"] == "not_found"
    # Someone who was not in the log cannot see, export or withdraw it.
    _, _, wc = await person(server, "Uma Log")
    assert (await wc.fail("withdraw_log", log=sid))["code"] == "not_found"
    assert (await wc.ok("logs"))["logs"] == []


async def test_franked_messages_verify_and_forgeries_do_not(server: Running) -> None:
    _, pa, wa = await person(server, "Vic Frank")
    _, pb, wb = await person(server, "Wyn Frank")
    cid = await opened(wa, wb, pb)
    await wa.ok("send", conversation=cid, text="a message to keep as evidence")
    live = await wait_text(wb, cid, "a message to keep as evidence")
    assert live["tag"].startswith("f1.")
    # The tag read back from history is the tag delivered live.
    history = await wb.ok("conversation_history", conversation=cid)
    stored = next(e for e in history["events"] if e["seq"] == live["seq"])
    assert stored["tag"] == live["tag"] and stored["at"] == live["at"]
    held = {"sender": pa["id"], "stream": live["stream"], "seq": live["seq"],
            "at": live["at"], "text": live["text"], "tag": live["tag"]}
    sid = await running(wa, wb, pb, ["text"], {"text": True})
    await wa.ok("scene_send", scene=sid, text="a scene line")
    scene_line = (await wb.wait_for(lambda: scene_events(wb, sid, "say")))[0]
    from_scene = {"sender": pa["id"], "stream": scene_line["stream"],
                  "seq": scene_line["seq"], "at": scene_line["at"],
                  "text": scene_line["text"], "tag": scene_line["tag"]}
    checks = [held, from_scene, {**held, "text": "a message I made up"},
              {**held, "sender": pb["id"]}, {**held, "seq": held["seq"] + 1},
              {**held, "at": "2026-01-01T00:00:00+00:00"},
              {**held, "tag": held["tag"][:-2] + "AA"}, {**held, "tag": "not a tag"}]
    results = (await wb.ok("verify_messages", messages=checks))["results"]
    assert [r["valid"] for r in results] == [True, True] + [False] * 6
    bad = await wb.fail("verify_messages", messages=[])
    assert bad["code"] == "bad_message"


async def test_deleting_a_persona_leaves_its_scenes_and_shreds_its_logs(
        server: Running) -> None:
    _, _, wa = await person(server, "Xan Log")
    api_b, pb, wb = await person(server, "Yas Log")
    await opened(wa, wb, pb)
    sid = await running(wa, wb, pb, ["text", "logging"], {"text": True, "logging": True})
    await wa.ok("scene_send", scene=sid, text="logged before the deletion")
    await wb.wait_for(lambda: scene_events(wb, sid, "say"))
    assert key_files(server) == [f"{sid}.key"]
    await api_b.call("DELETE", f"/personas/{pb['id']}", expect=204)
    (left,) = await wait_kind(wa, sid, "left")
    assert left["persona"]["id"] == pb["id"]
    await wait_kind(wa, sid, "ended")
    assert key_files(server) == []
    assert await count(server, "scene_log_entries") == 0
    # Its consent record goes with it; the other side's stays.
    assert pb["id"] not in await stored_text(server)


async def test_logs_over_http(server: Running) -> None:
    api_a, _, wa = await person(server, "Zed Log")
    api_b, pb, wb = await person(server, "Abe Log")
    await opened(wa, wb, pb)
    sid = await running(wa, wb, pb, ["text", "logging"], {"text": True, "logging": True})
    await wa.ok("scene_send", scene=sid, text="over http")
    line = (await wb.wait_for(lambda: scene_events(wb, sid, "say")))[0]
    (listed,) = (await api_b.call("GET", "/scene-logs"))["logs"]
    assert listed["id"] == sid
    response = await api_b.http.get(f"/api/v1/scene-logs/{sid}/export",
                                    params={"format": "html"})
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    assert response.headers["x-tryst-export"].startswith("x_")
    assert "attachment" in response.headers["content-disposition"]
    assert "over" in response.text
    bad = await api_b.http.get(f"/api/v1/scene-logs/{sid}/export", params={"format": "pdf"})
    assert bad.status_code == 422
    message = {"sender": line["persona"]["id"], "stream": line["stream"], "seq": line["seq"],
               "at": line["at"], "text": line["text"], "tag": line["tag"]}
    checked = await api_b.call("POST", "/franking/verify", json={
        "messages": [message, {**message, "text": "changed"}]})
    assert checked["results"] == [{"valid": True}, {"valid": False}]
    await api_a.call("DELETE", f"/scene-logs/{sid}", expect=204)
    assert key_files(server) == []
    (shred,) = await wait_kind(wb, sid, "logging")
    assert shred["data"]["shredded"] is True
    gone = await api_b.http.get(f"/api/v1/scene-logs/{sid}/export")
    assert gone.status_code == 404
    # The scene goes on, unlogged.
    await wb.ok("scene_send", scene=sid, text="still here")
    await wa.wait_for(lambda: [e for e in scene_events(wa, sid, "say")
                               if e["text"] == "still here"])
    assert await count(server, "scene_log_entries") == 0


async def three_logged(server: Running, names: tuple[str, str, str]
                       ) -> tuple[str, list[Ws], Any]:
    """A running scene of three, everyone granting text and logging: its id, the three
    connections (the proposer first) and the third person's HTTP client."""
    _, _, wa = await person(server, names[0])
    _, pb, wb = await person(server, names[1])
    api_c, pc, wc = await person(server, names[2])
    await opened(wa, wb, pb)
    await opened(wa, wc, pc)
    sid: str = (await wa.ok("propose_scene", personas=[pb["id"], pc["id"]], title="Three",
                            channels=["text", "logging"]))["scene"]["id"]
    for ws in (wb, wc):
        await wait_kind(ws, sid, "proposed")
        await ws.ok("accept_scene", version=1, scene=sid,
                    choices={"text": True, "logging": True})
    await wait_kind(wa, sid, "started")
    return sid, [wa, wb, wc], api_c


async def test_an_export_holds_only_what_reached_its_exporter(server: Running) -> None:
    sid, (wa, wb, wc), _ = await three_logged(server, ("Bea Three", "Cal Three", "Dot Three"))
    await wa.ok("scene_send", scene=sid, text="for all three")
    await wc.wait_for(lambda: scene_events(wc, sid, "say"))
    # Dot stops receiving text but still agrees to the log: the log goes on, and what
    # she did not receive is not in her export.
    await wc.ok("revoke", scene=sid, channel="text")
    await wa.ok("scene_send", scene=sid, text="while Dot reads nothing")
    await wb.wait_for(lambda: scene_events(wb, sid, "say")[1:])
    # Then she leaves: nor is anything said after that.
    await wc.ok("leave_scene", scene=sid)
    await wait_kind(wa, sid, "left")
    await wb.ok("scene_send", scene=sid, text="after Dot left")
    await wa.wait_for(lambda: scene_events(wa, sid, "say")[2:])
    dot = (await wc.ok("export_log", log=sid))["content"]
    ada = (await wa.ok("export_log", log=sid))["content"]
    assert "for all three" in dot and "for all three" in ada
    assert "while Dot reads nothing" not in dot and "while Dot reads nothing" in ada
    assert "after Dot left" not in dot and "after Dot left" in ada


async def test_deleting_a_persona_tells_a_running_scene_its_log_is_gone(
        server: Running) -> None:
    sid, (wa, wb, _), api_c = await three_logged(server, ("Eve Three", "Fay Three",
                                                           "Gil Three"))
    gil = (await api_c.call("GET", "/personas"))["personas"][0]
    await wa.ok("scene_send", scene=sid, text="logged line")
    await wb.wait_for(lambda: scene_events(wb, sid, "say"))
    await api_c.call("DELETE", f"/personas/{gil['id']}", expect=204)
    (shred,) = await wait_kind(wb, sid, "logging")
    assert shred["data"] == {"on": False, "shredded": True}
    (view,) = (await wb.ok("scenes"))["scenes"]
    assert view["status"] == "active" and view["logging"] is False
    await wa.ok("scene_send", scene=sid, text="two of us, unlogged")
    await wb.wait_for(lambda: scene_events(wb, sid, "say")[1:])
    assert key_files(server) == [] and await count(server, "scene_log_entries") == 0


async def test_a_phrase_from_a_long_multiline_pose_still_traces(
        server: Running, tmp_path: Path) -> None:
    sid, _, wa, _, wb = await logged_scene(server)
    pose = ("walks slowly across the old stone bridge, pausing to watch the river "
            "below.\nThe lanterns on the far bank flicker one by one as the evening wind "
            "rises and carries the smell of rain")
    await wa.ok("scene_send", scene=sid, text=pose, style="pose")
    await wb.wait_for(lambda: scene_events(wb, sid, "pose"))
    content = (await wb.ok("export_log", log=sid))["content"]
    line = next(x for x in content.splitlines() if "wind" in x)
    start = line.index("far bank")
    phrase = tmp_path / "phrase.txt"
    phrase.write_text(line[start:start + 2 * len(fingerprint.encode(bytes(12))) + 60],
                      "utf-8")
    assert trace(server, phrase).returncode == 0
