"""Reports over HTTP: evidence verified by franking tags or stored room history, cases
opened against the right account, and every bad report refused clearly."""

from __future__ import annotations

from typing import Any

import pytest

from tests.client import ApiError
from tests.conftest import Running
from tests.test_conversations import opened, person
from tests.test_moderation import operator


def evidence(event: dict[str, Any], **changes: Any) -> dict[str, Any]:
    line = {"sender": event["persona"]["id"], "stream": event["stream"], "seq": event["seq"],
            "at": event["at"], "text": event["text"], "tag": event.get("tag")}
    return {**line, **changes}


async def test_a_reported_message_is_verified_and_opens_a_case(server: Running) -> None:
    _, pa, wa = await person(server, "Ada Reported")
    api_b, pb, wb = await person(server, "Bo Reporter")
    cid = await opened(wa, wb, pb)
    await wa.ok("send", conversation=cid, text="You will regret ignoring me.")
    event = await wb.wait_for(lambda: next(
        (e for e in wb.events if e.get("text") == "You will regret ignoring me."), None))
    assert event["tag"]
    filed = await api_b.call("POST", "/reports", expect=201, json={
        "persona_id": pb["id"], "category": "harassment", "target": "message",
        "target_id": f"{event['stream']}#{event['seq']}", "note": "This keeps happening.",
        "evidence": [evidence(event), evidence(event, text="You will love this.")]})
    assert filed["verified"] == 1 and filed["unverified"] == 1
    op = await operator(server)
    case = await server.tryst.moderation.case(op, filed["case"])
    assert case.kind == "report_harassment" and case.persona_id == pa["id"]
    lines = case.details["evidence"]
    assert [line["verified"] for line in lines] == [True, False]  # type: ignore[index]
    assert case.details["note"] == "This keeps happening."
    history = await server.tryst.moderation.history(op, str(case.account_id))
    assert [c.id for c in history.cases] == [case.id]
    assert [e.action for e in history.audit] == ["report"]


async def test_room_lines_are_checked_against_stored_history(server: Running) -> None:
    api_a, pa, wa = await person(server, "Ada Room Report")
    api_b, pb, wb = await person(server, "Bo Room Report")
    room = await api_a.new_room(pa["id"], "Report Hall")
    await wb.ok("join", room=room["id"])
    said = await wa.ok("say", room=room["id"], text="Nobody wants you here.")
    event = await wb.wait_event(room["id"], "say", "Nobody wants you here.")
    filed = await api_b.call("POST", "/reports", json={
        "persona_id": pb["id"], "category": "harassment", "target": "message",
        "target_id": f"room:{room['id']}#{said['seq']}",
        "evidence": [evidence(event), evidence(event, text="Welcome here.")]})
    assert (filed["verified"], filed["unverified"]) == (1, 1)


async def test_bad_reports_are_refused(server: Running) -> None:
    api, persona, _ = await person(server, "Ada Bad Report")
    bad = [
        ({"category": "rudeness", "target": "persona", "target_id": persona["id"]}, 422),
        ({"category": "other", "target": "planet", "target_id": "x"}, 422),
        ({"category": "other", "target": "message", "target_id": "x"}, 422),
        ({"category": "other", "target": "persona", "target_id": "p_0000000000000000"}, 404),
        ({"category": "other", "target": "persona", "target_id": persona["id"],
          "evidence": [{"sender": "p", "stream": "s", "seq": 1, "at": "x", "text": "t"}] * 51},
         422),
    ]
    for body, status in bad:
        with pytest.raises(ApiError) as err:
            await api.call("POST", "/reports", json={"persona_id": persona["id"], **body})
        assert err.value.status == status, (body, err.value.body)
    response = await api.http.post("/api/v1/reports", headers={"authorization": ""}, json={
        "persona_id": persona["id"], "category": "other", "target": "persona",
        "target_id": persona["id"]})
    assert response.status_code == 401
    op = await operator(server)
    assert await server.tryst.moderation.cases(op) == []  # nothing was filed
