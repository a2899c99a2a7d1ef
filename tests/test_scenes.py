"""Scenes over real sockets: proposal, informed answers, per-channel grants, revocation,
the safeword, leaving, and who may be invited."""

from __future__ import annotations

from typing import Any

from tests.client import Ws
from tests.conftest import Running
from tests.test_conversations import opened, person, quiet


def scene_events(ws: Ws, scene: str, kind: str | None = None) -> list[dict[str, Any]]:
    return [e for e in ws.events if e.get("stream") == f"scene:{scene}"
            and e["type"] == "event" and (kind is None or e["kind"] == kind)]


async def wait_kind(ws: Ws, scene: str, kind: str, count: int = 1) -> list[dict[str, Any]]:
    return await ws.wait_for(  # type: ignore[no-any-return]
        lambda: (found if len(found := scene_events(ws, scene, kind)) >= count else None))


Side = tuple[dict[str, Any], Ws, dict[str, Any], Ws]


async def pair(server: Running, a: str = "Ada Scene", b: str = "Bo Scene",
               b_fields: dict[str, Any] | None = None) -> Side:
    """Two personas who already talk in an accepted direct conversation."""
    _, pa, wa = await person(server, a)
    _, pb, wb = await person(server, b, **(b_fields or {}))
    await opened(wa, wb, pb)
    return pa, wa, pb, wb


async def running(wa: Ws, wb: Ws, pb: dict[str, Any], channels: list[str],
                  b_choices: dict[str, bool]) -> str:
    proposed = await wa.ok("propose_scene", personas=[pb["id"]], title="A quiet evening",
                           tags=["romance"], channels=channels)
    sid: str = proposed["scene"]["id"]
    await wait_kind(wb, sid, "proposed")
    accepted = await wb.ok("accept_scene", version=1, scene=sid, choices=b_choices)
    assert accepted["scene"]["status"] == "active"
    await wait_kind(wa, sid, "started")
    return sid


async def test_proposal_shows_conflicts_and_starts_when_all_accept(server: Running) -> None:
    pa, wa, pb, wb = await pair(server, b_fields={
        "interests": {"horror": "no"}, "hard_limits": ["Romance"]})
    proposed = await wa.ok("propose_scene", personas=[pb["id"]], title="Haunted house",
                           tags=["horror", "romance", "fantasy"],
                           channels=["text", "images", "logging"])
    scene = proposed["scene"]
    sid = scene["id"]
    assert scene["status"] == "proposed" and scene["stream"] == f"scene:{sid}"
    assert scene["me"]["state"] == "accepted"
    assert sorted(scene["me"]["grants"]) == ["images", "logging", "text"]
    # The invitee is told, and sees the card set against their own limits.
    invite = await wb.wait_for(lambda: next(
        (e for e in wb.events if e["type"] == "scene_invite"), None))
    assert invite["scene"] == sid and invite["persona"]["id"] == pa["id"]
    (mine,) = (await wb.ok("scenes"))["scenes"]
    assert mine["card"]["tags"] == ["horror", "romance", "fantasy"]
    assert mine["conflicts"] == ["horror", "romance"]
    assert mine["me"]["state"] == "invited"
    (proposal,) = await wait_kind(wb, sid, "proposed")
    assert proposal["data"]["card"]["title"] == "Haunted house"
    # Text yes, images no: the grant is recorded per channel.
    accepted = await wb.ok("accept_scene", version=1, scene=sid,
                           choices={"text": True, "images": False})
    assert accepted["scene"]["status"] == "active"
    assert sorted(accepted["scene"]["me"]["grants"]) == ["text"]
    started = await wait_kind(wa, sid, "started")
    assert sorted(started[0]["data"]["present"]) == sorted([pa["id"], pb["id"]])
    ack = await wa.ok("scene_send", scene=sid, text="The door creaks open.", style="pose")
    line = (await wb.wait_for(lambda: [e for e in scene_events(wb, sid, "pose")]))[0]
    assert line["text"] == "The door creaks open." and line["seq"] == ack["seq"]
    assert line["channel"] == "text" and line["tag"] == ack["tag"]


async def test_decline_asks_no_reason_and_counter_resets_consent(server: Running) -> None:
    _, wa, pb, wb = await pair(server, "Cy Scene", "Di Scene")
    sid = (await wa.ok("propose_scene", personas=[pb["id"]], title="Market day",
                       channels=["text", "images"]))["scene"]["id"]
    await wait_kind(wb, sid, "proposed")
    countered = await wb.ok("counter_scene", scene=sid, title="Market day, text only",
                            channels=["text"])
    assert countered["scene"]["card"]["version"] == 2
    (event,) = await wait_kind(wa, sid, "countered")
    assert event["data"]["card"]["channels"] == ["text"]
    # The proposer's consent was to the old card: they must accept the new one.
    (view,) = (await wa.ok("scenes"))["scenes"]
    assert view["me"]["state"] == "invited" and view["me"]["grants"] == {}
    assert (await wa.fail("start_scene", scene=sid))["code"] == "invalid_state"
    # Accepting the card one read before it changed is refused: read it again.
    stale = await wa.fail("accept_scene", version=1, scene=sid, choices={"text": True})
    assert stale["code"] == "invalid_state" and stale["details"]["version"] == 2
    await wa.ok("accept_scene", version=2, scene=sid, choices={"text": True})
    await wait_kind(wb, sid, "started")
    # Declining a new proposal: no reason is asked, the proposer sees "declined".
    sid2 = (await wa.ok("propose_scene", personas=[pb["id"]], title="Another",
                        channels=["text"]))["scene"]["id"]
    await wait_kind(wb, sid2, "proposed")
    await wb.ok("decline_scene", scene=sid2)
    (declined,) = await wait_kind(wa, sid2, "declined")
    assert "data" not in declined and declined["text"] == ""
    assert (await wb.fail("accept_scene", version=1, scene=sid2, choices={"text": True}))["code"] \
        == "not_found"


async def test_ungranted_channel_is_never_delivered_and_revoke_applies_next(
        server: Running) -> None:
    _, _, wa = await person(server, "Ed Scene")
    api_b, pb, wb = await person(server, "Flo Scene")
    await opened(wa, wb, pb)
    sid = await running(wa, wb, pb, ["text", "logging"], {"text": True})
    await wa.ok("scene_send", scene=sid, text="first line")
    await wb.wait_for(lambda: scene_events(wb, sid, "say"))
    # Flo takes text back: the very next line does not reach her, and she cannot send.
    revoked = await wb.ok("revoke", scene=sid, channel="text")
    assert "text" not in revoked["scene"]["me"]["grants"]
    (notice,) = await wait_kind(wa, sid, "consent")
    assert notice["data"] == {"channel": "text", "granted": False}
    await wa.ok("scene_send", scene=sid, text="second line")
    await wa.wait_for(lambda: scene_events(wa, sid, "say")[1:])
    assert (await wb.fail("scene_send", scene=sid, text="hi"))["code"] == "not_granted"
    await quiet()
    assert [e["text"] for e in scene_events(wb, sid, "say")] == ["first line"]
    # A reconnect resumes from the buffer, and still holds back what was not granted.
    last = scene_events(wb, sid)[-1]["seq"]
    wb2 = await Ws.connect(server.base, api_b.token)
    await wb2.hello(pb["id"], resume={f"scene:{sid}": 0})
    await wb2.wait_for(lambda: [e for e in scene_events(wb2, sid) if e["seq"] >= last])
    assert [e["text"] for e in scene_events(wb2, sid, "say")] == ["first line"]
    # Granting again takes effect for the next line.
    granted = await wb.ok("grant", scene=sid, channel="text", minutes=30)
    assert "text" in granted["scene"]["me"]["grants"]
    await wa.ok("scene_send", scene=sid, text="third line")
    await wb.wait_for(lambda: [e for e in scene_events(wb, sid, "say")
                               if e["text"] == "third line"])
    # A channel that is not on the card cannot be granted.
    failed = await wb.fail("grant", scene=sid, channel="camera")
    assert failed["code"] == "invalid" and failed["details"]["channel"] == "camera"


async def test_red_pauses_everyone_until_all_confirm(server: Running) -> None:
    _, wa, pb, wb = await pair(server, "Gus Scene", "Hal Scene")
    sid = await running(wa, wb, pb, ["text"], {"text": True})
    await wa.ok("scene_send", scene=sid, text="before red")
    await wb.wait_for(lambda: scene_events(wb, sid, "say"))
    paused = await wb.ok("red", scene=sid)
    assert paused["paused"] == [sid]
    for ws in (wa, wb):
        (red,) = await wait_kind(ws, sid, "red")
        assert red["persona"]["id"] == pb["id"] and "check_in" in red["data"]
    refused = await wa.fail("scene_send", scene=sid, text="during red")
    assert refused["code"] == "scene_paused"
    one = await wa.ok("resume_scene", scene=sid)
    assert one["scene"]["status"] == "paused" and one["scene"]["waiting_for"] == [pb["id"]]
    assert (await wa.fail("scene_send", scene=sid, text="still paused"))["code"] \
        == "scene_paused"
    both = await wb.ok("resume_scene", scene=sid)
    assert both["scene"]["status"] == "active"
    await wait_kind(wa, sid, "resumed")
    await wa.ok("scene_send", scene=sid, text="after resume")
    await wb.wait_for(lambda: scene_events(wb, sid, "say")[1:])
    kinds = [e["kind"] for e in scene_events(wb, sid)]
    red_at, resumed_at = kinds.index("red"), kinds.index("resumed")
    assert "say" not in kinds[red_at:resumed_at]
    # Yellow is its own signal to everyone.
    await wa.ok("yellow", scene=sid)
    (yellow,) = await wait_kind(wb, sid, "yellow")
    assert yellow["persona"]["id"] != pb["id"]


async def test_red_without_a_scene_stops_every_scene_of_the_account(server: Running) -> None:
    api_a, pa, wa = await person(server, "Ivy Scene")
    pa2 = await api_a.new_persona("Ivy Second")
    _, pb, wb = await person(server, "Jo Scene")
    _, pc, wc = await person(server, "Kit Scene")
    await opened(wa, wb, pb)
    sid1 = await running(wa, wb, pb, ["text"], {"text": True})
    wa2 = await Ws.connect(server.base, api_a.token)
    await wa2.hello(pa2["id"])
    await opened(wa2, wc, pc)
    sid2 = await running(wa2, wc, pc, ["text"], {"text": True})
    # One action, from a connection acting as either persona, pauses both.
    paused = await wa.ok("red")
    assert sorted(paused["paused"]) == sorted([sid1, sid2])
    await wait_kind(wb, sid1, "red")
    await wait_kind(wc, sid2, "red")
    assert pa["id"] != pa2["id"]


async def test_leave_without_reason_ends_a_scene_of_two(server: Running) -> None:
    _, wa, pb, wb = await pair(server, "Lu Scene", "Mo Scene")
    sid = await running(wa, wb, pb, ["text"], {"text": True})
    await wb.ok("leave_scene", scene=sid)
    for ws in (wa, wb):
        await wait_kind(ws, sid, "left")
    (ended,) = await wait_kind(wa, sid, "ended")
    assert ended["data"]["reason"] == "too_few"
    assert (await wa.ok("scenes"))["scenes"] == []
    assert (await wa.fail("scene_send", scene=sid, text="anyone?"))["code"] == "not_found"


async def test_invitations_obey_blocks_and_reach(server: Running) -> None:
    _, pa, wa = await person(server, "Nia Scene")
    _, pb, wb = await person(server, "Oz Scene")
    _, pc, wc = await person(server, "Pam Scene")
    await wc.ok("set_boundaries", reach="nobody")
    await wb.ok("block", persona=pa["id"])
    proposed = await wa.ok("propose_scene", personas=[pb["id"], pc["id"]],
                           title="Three of us", channels=["text"])
    sid = proposed["scene"]["id"]
    # To the proposer, a blocked or unreachable invitee looks like one who has not answered.
    states = {p["persona"]["id"]: p["state"] for p in proposed["scene"]["participants"]}
    assert states == {pa["id"]: "accepted", pb["id"]: "invited", pc["id"]: "invited"}
    await quiet()
    for ws in (wb, wc):
        assert not [e for e in ws.events if e["type"] == "scene_invite"]
        assert scene_events(ws, sid) == [] and (await ws.ok("scenes"))["scenes"] == []
        failed = await ws.fail("accept_scene", version=1, scene=sid, choices={"text": True})
        assert failed["code"] == "not_found"


async def test_bad_scene_input_gets_clear_errors_and_changes_nothing(server: Running) -> None:
    pa, wa, pb, wb = await pair(server, "Quill Scene", "Rook Scene")
    base = {"personas": [pb["id"]], "title": "Fine", "channels": ["text"]}
    cases: list[tuple[dict[str, Any], str, str | None]] = [
        ({**base, "tags": ["no-such-tag"]}, "invalid", "tags"),
        ({**base, "title": "   "}, "invalid", "title"),
        ({**base, "title": "bad\u0007bell"}, "invalid", "title"),
        ({**base, "channels": []}, "bad_message", None),
        ({**base, "channels": ["telepathy"]}, "bad_message", None),
        ({**base, "personas": [pa["id"]]}, "invalid", "personas"),
        ({**base, "personas": []}, "bad_message", None),
        ({**base, "personas": ["p_nobody"]}, "not_found", None),
        ({**base, "choices": {"images": True}}, "invalid", None),
        ({**base, "choices": {"text": False}}, "invalid", "channels"),
        ({**base, "minutes": 0}, "bad_message", None),
        ({**base, "minutes": 24 * 60 + 1}, "bad_message", None),
        ({**base, "surprise": 1}, "bad_message", None),
    ]
    for fields, code, field in cases:
        error = await wa.fail("propose_scene", **fields)
        assert error["code"] == code, (fields, error)
        if field is not None:
            assert error["details"]["field"] == field, (fields, error)
    assert (await wa.ok("scenes"))["scenes"] == []
    assert scene_events(wb, "") == [] and not [
        e for e in wb.events if e["type"] == "scene_invite"]
    sid = (await wa.ok("propose_scene", **base))["scene"]["id"]
    await wait_kind(wb, sid, "proposed")
    for type_, fields, code in [
            ("accept_scene", {"version": 1, "scene": "s_nosuchscene",
                              "choices": {"text": True}}, "not_found"),
            ("accept_scene", {"version": 1, "scene": sid, "choices": {"camera": True}}, "invalid"),
            ("accept_scene", {"version": 1, "scene": sid, "choices": {}}, "invalid"),
            ("accept_scene", {"scene": sid, "choices": {"text": True}}, "bad_message"),
            ("start_scene", {"scene": sid}, "invalid_state"),
            ("scene_send", {"scene": sid, "text": "too early"}, "invalid_state"),
            ("red", {"scene": sid}, "invalid_state"),
            ("resume_scene", {"scene": sid}, "invalid_state"),
            ("end_scene", {"scene": sid}, "invalid_state"),
            ("revoke", {"scene": sid, "channel": "text"}, "invalid_state"),
            ("export_log", {"log": sid}, "not_found"),
            ("withdraw_log", {"log": "s_nosuchscene"}, "not_found")]:
        error = await wb.fail(type_, **fields)
        assert error["code"] == code, (type_, fields, error)
    # After all that the proposal stands, untouched, and can still be accepted.
    (view,) = (await wb.ok("scenes"))["scenes"]
    assert view["status"] == "proposed" and view["me"]["state"] == "invited"
    await wb.ok("accept_scene", version=1, scene=sid, choices={"text": True})
    assert (await wb.fail("accept_scene", version=1, scene=sid, choices={"text": True}))["code"] \
        == "invalid_state"
    long = await wa.fail("scene_send", scene=sid, text="x" * 5000)
    assert long["code"] == "invalid"


async def test_scenes_per_persona_limit(server_factory: Any) -> None:
    async with server_factory(scenes_per_persona=2) as srv:
        _, wa, pb, _ = await pair(srv, "Sol Scene", "Tam Scene")
        for n in range(2):
            await wa.ok("propose_scene", personas=[pb["id"]], title=f"Scene {n}",
                        channels=["text"])
        over = await wa.fail("propose_scene", personas=[pb["id"]], title="One more",
                             channels=["text"])
        assert over["code"] == "limit_reached" and over["details"]["limit"] == 2


async def test_proposer_declining_a_counter_withdraws_the_proposal(server: Running) -> None:
    _, wa, pb, wb = await pair(server, "Uri Scene", "Val Scene")
    sid = (await wa.ok("propose_scene", personas=[pb["id"]], title="First idea",
                       channels=["text"]))["scene"]["id"]
    await wait_kind(wb, sid, "proposed")
    await wb.ok("counter_scene", scene=sid, title="Second idea", channels=["text"])
    await wait_kind(wa, sid, "countered")
    await wa.ok("decline_scene", scene=sid)
    (ended,) = await wait_kind(wb, sid, "ended")
    assert ended["data"]["reason"] == "withdrawn"
    assert (await wb.ok("scenes"))["scenes"] == []


async def test_idle_scenes_end_and_free_their_memory(server_factory: Any,
                                                     fake_clock: Any) -> None:
    async with server_factory(clock=fake_clock) as srv:
        _, wa, pb, wb = await pair(srv, "Wes Scene", "Xia Scene")
        sid = await running(wa, wb, pb, ["text"], {"text": True})
        scenes = srv.tryst.private.scenes.scenes
        fake_clock.advance(11 * 3600)
        assert await scenes.expire_idle() == 0
        # Grants are time-bounded: after their 4 hours they have lapsed on their own.
        lapsed = await wa.fail("scene_send", scene=sid, text="still here?")
        assert lapsed["code"] == "not_granted"
        await wa.ok("grant", scene=sid, channel="text")
        await wa.ok("scene_send", scene=sid, text="still here")
        fake_clock.advance(11 * 3600)
        assert await scenes.expire_idle() == 0  # the line counts as activity
        fake_clock.advance(2 * 3600)
        assert await scenes.expire_idle() == 1
        (ended,) = await wait_kind(wb, sid, "ended")
        assert ended["data"]["reason"] == "idle"
        assert (await wa.ok("scenes"))["scenes"] == []
