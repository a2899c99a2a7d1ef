"""The safety engine in the send path, over real sockets: each signal's action, who is
told what, restrictions and cases. Test messages are short and synthetic (the same
style as tests/data/safety_eval.jsonl)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.client import ApiError, Ws
from tests.conftest import Running, ServerFactory
from tests.test_conversations import opened, person, quiet
from tests.test_scenes import running, wait_kind
from tryst.domain.errors import InvalidInput


async def db_rows(server: Running, sql: str) -> list[Any]:
    async with server.tryst.engine.connect() as conn:
        return list(await conn.execute(text(sql)))


async def settle(server: Running) -> None:
    await server.tryst.private.conversations._safety.settle()  # type: ignore[union-attr]


def notices(ws: Ws) -> list[dict[str, Any]]:
    return [e for e in ws.events if e["type"] == "safety_notice"]


async def test_solicitation_is_refused_with_the_rule_explained(server: Running) -> None:
    _, _pa, wa = await person(server, "Ada Safety")
    api_b, pb, wb = await person(server, "Bo Safety")
    cid = await opened(wa, wb, pb)
    refused = await wa.fail("send", conversation=cid, text="pics are $10 each, customs $40")
    assert refused["code"] == "safety_refused"
    assert refused["details"]["signal"] == "solicitation" and refused["details"]["reason"]
    room = await api_b.new_room(pb["id"], "Safety Lounge")
    await wa.ok("join", room=room["id"])
    said = await wa.fail("say", room=room["id"], text="my cashapp is $LilyRose22 for tributes")
    assert said["code"] == "safety_refused"
    await quiet()
    assert not [e for e in wb.events if e.get("text", "").startswith(("pics", "my cashapp"))]
    # Ordinary talk passes, and nobody was restricted.
    await wa.ok("send", conversation=cid, text="Shall we pick up the story at the harbour?")
    assert await db_rows(server, "SELECT * FROM account_restrictions") == []


async def test_personal_data_to_a_new_contact_asks_the_sender_first(server: Running) -> None:
    _, _pa, wa = await person(server, "Ada Number")
    _, pb, wb = await person(server, "Bo Number")
    cid = await opened(wa, wb, pb)
    line = "call me on +44 7700 900123"
    warned = await wa.fail("send", conversation=cid, text=line)
    assert warned["code"] == "safety_warning"
    assert warned["details"]["signal"] == "personal_data"
    await quiet()
    assert not [e for e in wb.events if e.get("text") == line]
    await wa.ok("send", conversation=cid, text=line, confirm=["personal_data"])
    await wb.wait_for(lambda: next((e for e in wb.events if e.get("text") == line), None))
    bad = await wa.fail("send", conversation=cid, text=line, confirm=["everything"])
    assert bad["code"] == "bad_message"


async def test_off_platform_moves_reach_the_recipient_with_a_notice(server: Running) -> None:
    _, _pa, wa = await person(server, "Ada Move")
    _, pb, wb = await person(server, "Bo Move")
    sent = await wa.ok("request", to=pb["id"], text="add me on snap, it's easier")
    assert sent["status"] == "pending"
    notice = await wb.wait_for(lambda: next(iter(notices(wb)), None))
    assert notice["signal"] == "off_platform" and notice["delivered"] is True
    assert notice["persona"]["name"] == "Ada Move"
    assert set(notice["actions"]) == {"block", "report", "preserve_evidence"}
    assert notices(wa) == []  # the sender is not told the recipient was warned


async def test_coercion_is_withheld_and_the_sender_restricted(server: Running) -> None:
    _, pa, wa = await person(server, "Ada Threat")
    _, pb, wb = await person(server, "Bo Target")
    cid = await opened(wa, wb, pb)
    threat = "Send me $500 or I'll send your pics to your family"
    stopped = await wa.fail("send", conversation=cid, text=threat)
    assert stopped["code"] == "restricted" and stopped["details"]["signal"] == "coercion"
    notice = await wb.wait_for(lambda: next(iter(notices(wb)), None))
    assert notice["signal"] == "coercion" and notice["delivered"] is False
    assert not [e for e in wb.events if e.get("text") == threat]
    # Restricted: nothing more goes out, whatever it says.
    again = await wa.fail("send", conversation=cid, text="hello?")
    assert again["code"] == "restricted"
    await settle(server)
    (case,) = await db_rows(server, "SELECT kind, persona_id, details FROM moderation_cases")
    details = case[2] if isinstance(case[2], dict) else json.loads(case[2])
    assert case[0] == "safety_coercion" and case[1] == pa["id"]
    assert details["text"] == threat  # the only copy: kept as evidence for moderators
    (restriction,) = await db_rows(server, "SELECT signal FROM account_restrictions")
    assert restriction[0] == "coercion"


async def test_a_disclosed_minor_pauses_their_scenes_and_is_restricted(
        server: Running) -> None:
    _, pa, wa = await person(server, "Ada Scene Safety")
    _, pb, wb = await person(server, "Bo Scene Safety")
    await opened(wa, wb, pb)
    sid = await running(wa, wb, pb, ["text"], {"text": True})
    stopped = await wb.fail("scene_send", scene=sid, text="hey! i'm 15 btw, is that ok?")
    assert stopped["code"] == "restricted" and stopped["details"]["signal"] == "minor"
    (red,) = await wait_kind(wa, sid, "red")
    assert red["text"] == "This scene was stopped for safety."
    assert red["persona"] is None  # the others are not told who or why
    assert not [e for e in wa.events if "15" in e.get("text", "")]
    # Nothing resumes it from the restricted side until a moderator has looked.
    assert (await wb.fail("resume_scene", scene=sid))["code"] == "restricted"
    assert (await wb.fail("propose_scene", personas=[pa["id"]], title="Again",
                          tags=["romance"], channels=["text"]))["code"] == "restricted"
    await settle(server)
    kinds = [r[0] for r in await db_rows(server, "SELECT kind FROM moderation_cases")]
    assert kinds == ["safety_minor"]


async def test_personas_stating_an_age_under_18_are_refused(server: Running) -> None:
    api = await server.user()
    for fields in ({"name": "Emma Vale", "profile": "Emma, 15, loves horses"},
                   {"name": "Emma Stone", "short_description": "Age: 16, new here"}):
        try:
            await api.new_persona(**fields)
        except ApiError as err:
            assert err.status == 422 and err.code == "safety_refused", err.body
        else:
            raise AssertionError(f"accepted {fields}")
    persona = await api.new_persona("Emma Stone", short_description="Twenty years a sailor")
    try:
        await api.call("PATCH", f"/personas/{persona['id']}", json={"profile": "I'm 14"})
    except ApiError as err:
        assert err.code == "safety_refused"
    else:
        raise AssertionError("profile accepted")


async def test_first_contact_floods_are_throttled(server_factory: ServerFactory,
                                                  tmp_path: Path) -> None:
    # An operator's file tightens the shipped threshold (20 first contacts in 10 minutes).
    rules = tmp_path / "safety.json"
    rules.write_text(json.dumps({"mode": "extend", "flood": {"max_first_contacts": 5}}))
    async with server_factory(request_rate_per_hour=10_000.0, request_burst=1000,
                              safety_file=rules) as server:
        _, _pa, wa = await person(server, "Ada Flood")
        targets = [(await person(server, f"Target {i}"))[1] for i in range(7)]
        codes = []
        for target in targets:
            reply = await wa.request("request", to=target["id"], text="hello there")
            codes.append(reply["type"] if reply["type"] == "ack" else reply["code"])
        assert codes == ["ack"] * 5 + ["rate_limited"] * 2


async def test_a_broken_safety_file_stops_the_server_with_a_clear_message(
        server_factory: ServerFactory, tmp_path: Path) -> None:
    rules = tmp_path / "safety.json"
    rules.write_text(json.dumps({"mode": "extend", "flood": {"max_first_contactz": 5}}))
    with pytest.raises(InvalidInput, match="max_first_contactz"):
        async with server_factory(safety_file=rules):
            pass
