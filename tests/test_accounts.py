"""Accounts over real HTTP: sign-up with the 18+ step, sessions, password change,
export and erasure."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from tests.client import PASSWORD, Api, ApiError, Ws, register
from tests.conftest import Running


async def post_account(srv: Running, **body: object) -> httpx.Response:
    async with httpx.AsyncClient(base_url=srv.base) as http:
        return await http.post("/api/v1/accounts", json=body)


async def test_register_stores_only_the_age_assurance_result(server: Running) -> None:
    response = await post_account(server, username="Robin", password=PASSWORD,
                                  confirm_adult=True)
    assert response.status_code == 201
    body = response.json()
    assert body["account"]["username"] == "robin"  # usernames are case-insensitive
    assert body["account"]["age_assurance"]["result"] == "adult"
    assert body["account"]["age_assurance"]["method"] == "self-attestation"
    assert body["account"]["age_assurance"]["attested_at"]
    assert body["token"]
    assert "set-cookie" not in response.headers  # API clients asked for a token


@pytest.mark.parametrize("confirm", [False, None])
async def test_register_without_adult_confirmation_is_refused(server: Running,
                                                              confirm: object) -> None:
    body = {"username": "young", "password": PASSWORD}
    if confirm is not None:
        body["confirm_adult"] = confirm
    response = await post_account(server, **body)
    assert response.status_code == 422
    error = response.json()["error"]
    expected = "age_assurance_failed" if confirm is False else "bad_request"
    assert error["code"] == expected
    # Nothing was created: the name is still free.
    ok = await post_account(server, username="young", password=PASSWORD, confirm_adult=True)
    assert ok.status_code == 201


@pytest.mark.parametrize(("username", "password", "field"), [
    ("ab", PASSWORD, "username"),
    ("has space", PASSWORD, "username"),
    ("-dash", PASSWORD, "username"),
    ("x" * 33, PASSWORD, "username"),
    ("okname", "short", "password"),
    ("okname", "p" * 1025, "password"),
])
async def test_register_bad_input_names_the_field(server: Running, username: str,
                                                  password: str, field: str) -> None:
    response = await post_account(server, username=username, password=password,
                                  confirm_adult=True)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"]["field"] == field


async def test_register_refuses_unknown_fields_and_duplicate_names(server: Running) -> None:
    response = await post_account(server, username="sam", password=PASSWORD,
                                  confirm_adult=True, is_admin=True)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_request"
    assert (await post_account(server, username="sam", password=PASSWORD,
                               confirm_adult=True)).status_code == 201
    again = await post_account(server, username="SAM", password=PASSWORD, confirm_adult=True)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "conflict"


async def test_malformed_json_body_gets_a_clear_error(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.post("/api/v1/accounts", content=b"{not json",
                                   headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_request"


async def test_oversized_body_is_refused(server: Running) -> None:
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.post("/api/v1/accounts", content=b"x" * (600 * 1024),
                                   headers={"content-type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_login_wrong_password_and_unknown_user_look_the_same(server: Running) -> None:
    await register(server.base, "kim")
    async with httpx.AsyncClient(base_url=server.base) as http:
        wrong = await http.post("/api/v1/sessions", json={"username": "kim", "password": "nope"})
        nobody = await http.post("/api/v1/sessions",
                                 json={"username": "nobody", "password": "nope"})
        good = await http.post("/api/v1/sessions", json={"username": "KIM", "password": PASSWORD})
    assert wrong.status_code == nobody.status_code == 401
    assert wrong.json() == nobody.json()
    assert good.status_code == 200 and good.json()["token"]


async def test_browser_login_sets_httponly_samesite_cookie(server: Running) -> None:
    await register(server.base, "lee")
    async with httpx.AsyncClient(base_url=server.base) as http:
        response = await http.post("/api/v1/sessions", json={
            "username": "lee", "password": PASSWORD, "session": "cookie"})
        assert response.status_code == 200
        assert "token" not in response.json()
        cookie = response.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=lax" in cookie and "path=/" in cookie
        me = await http.get("/api/v1/accounts/me")  # the cookie alone authenticates
        assert me.status_code == 200 and me.json()["username"] == "lee"
        # A page on another site cannot use the cookie to change anything.
        evil = await http.post("/api/v1/personas", json={"name": "Evil", "age": 30},
                               headers={"origin": "https://evil.example"})
        assert evil.status_code == 403
        same = await http.post("/api/v1/personas", json={"name": "Lee One", "age": 30},
                               headers={"origin": server.base})
        assert same.status_code == 201


async def test_logout_revokes_the_session_and_closes_its_connections(server: Running) -> None:
    api = await register(server.base, "max")
    ws = await Ws.connect(server.base, api.token)
    await ws.hello()
    await api.call("DELETE", "/sessions/current", expect=204)
    assert (await ws.wait_closed())[0] == 4001
    with pytest.raises(ApiError) as err:
        await api.call("GET", "/accounts/me")
    assert err.value.status == 401 and err.value.code == "not_authenticated"


async def test_password_change_revokes_other_sessions(server: Running) -> None:
    first = await register(server.base, "nia")
    async with httpx.AsyncClient(base_url=server.base) as http:
        second_token = (await http.post("/api/v1/sessions", json={
            "username": "nia", "password": PASSWORD})).json()["token"]
    second = Api(server.base, second_token)
    other_ws = await Ws.connect(server.base, second_token)
    await other_ws.hello()
    bad = await first.http.post("/api/v1/accounts/me/password", json={
        "current_password": "wrong password", "new_password": "another long password"})
    assert bad.status_code == 401
    result = await first.call("POST", "/accounts/me/password", json={
        "current_password": PASSWORD, "new_password": "another long password"})
    assert result == {"other_sessions_ended": 1}
    assert (await other_ws.wait_closed()) == (4001, "password changed")
    with pytest.raises(ApiError):
        await second.call("GET", "/accounts/me")
    assert (await first.call("GET", "/accounts/me"))["username"] == "nia"
    async with httpx.AsyncClient(base_url=server.base) as http:
        old = await http.post("/api/v1/sessions", json={"username": "nia", "password": PASSWORD})
        new = await http.post("/api/v1/sessions", json={
            "username": "nia", "password": "another long password"})
    assert old.status_code == 401 and new.status_code == 200


async def test_export_contains_everything_stored(server: Running) -> None:
    api = await register(server.base, "ola")
    persona = await api.new_persona("Ola North", interests={"romance": "fave"},
                                    hard_limits=["no real names"])
    room = await api.new_room(persona["id"], "Export Room")
    ws = await Ws.connect(server.base, api.token)
    await ws.hello(persona["id"])
    await ws.ok("say", room=room["id"], text="something to export")
    response = await api.http.get("/api/v1/accounts/me/export")
    assert response.status_code == 200
    assert "attachment" in response.headers["content-disposition"]
    data = response.json()
    assert data["account"]["username"] == "ola"
    assert data["account"]["age_assurance"]["method"] == "self-attestation"
    assert data["personas"][0]["name"] == "Ola North"
    assert data["personas"][0]["interests"] == {"romance": "fave"}
    assert data["personas"][0]["hard_limits"] == ["no real names"]
    assert data["personas"][0]["rooms"][0]["role"] == "owner"
    assert [m["text"] for m in data["room_messages"] if m["kind"] == "say"] == [
        "something to export"]
    assert len(data["sessions"]) == 1 and "token" not in str(data["sessions"])
    await ws.close()


async def test_delete_account_erases_private_and_redacts_public(server: Running) -> None:
    leaving = await register(server.base, "pat")
    staying = await register(server.base, "quinn")
    p_leave = await leaving.new_persona("Pat Leaving")
    p_stay = await staying.new_persona("Quinn Staying")
    public = await staying.new_room(p_stay["id"], "Public Hall")
    private = await staying.new_room(p_stay["id"], "Private Nook", visibility="invite_only")
    await staying.call("POST", f"/rooms/{private['id']}/invites",
                       json={"persona_id": p_stay["id"], "target_persona_id": p_leave["id"]})
    ws = await Ws.connect(server.base, leaving.token)
    await ws.hello(p_leave["id"])
    for room in (public, private):
        await ws.ok("join", room=room["id"])
        await ws.ok("say", room=room["id"], text=f"mine in {room['name']}")
    watcher = await Ws.connect(server.base, staying.token)
    await watcher.hello(p_stay["id"])

    bad = await leaving.http.request("DELETE", "/api/v1/accounts/me",
                                     json={"password": "wrong password!",
                                           "confirm": "delete my account"})
    assert bad.status_code == 401
    await leaving.call("DELETE", "/accounts/me", expect=204,
                       json={"password": PASSWORD, "confirm": "delete my account"})
    assert (await ws.wait_closed()) == (4001, "account deleted")

    pub = await staying.call("GET", f"/rooms/{public['id']}/events",
                             params={"persona_id": p_stay["id"]})
    says = [e for e in pub["events"] if e["kind"] == "say"]
    assert [(e["text"], e["persona"]["name"]) for e in says] == [("[deleted]", "[deleted]")]
    priv = await staying.call("GET", f"/rooms/{private['id']}/events",
                              params={"persona_id": p_stay["id"]})
    assert not [e for e in priv["events"] if e["kind"] == "say"]
    assert "mine in" not in str(priv) and "mine in" not in str(pub)
    # Connected members are told, through the stream, which events were erased.
    redaction = await watcher.wait_event(public["id"], "redaction")
    redacted = [e["seq"] for e in pub["events"]
                if e["persona"] and e["persona"]["name"] == "[deleted]" and e["kind"] != "leave"]
    joins = [e for e in pub["events"] if e["seq"] in redacted and e["kind"] == "join"]
    assert [e["text"] for e in joins] == [""]  # nothing was said: nothing to replace
    assert redaction["data"]["seqs"] == redacted  # their join and their line
    assert says[0]["seq"] in redacted
    with pytest.raises(ApiError) as err:
        await staying.call("GET", f"/personas/{p_leave['id']}")
    assert err.value.status == 404
    async with httpx.AsyncClient(base_url=server.base) as http:
        gone = await http.post("/api/v1/sessions", json={"username": "pat", "password": PASSWORD})
    assert gone.status_code == 401
    await watcher.close()


async def test_deletion_racing_activity_leaves_nothing_behind(server: Running) -> None:
    """Whatever the interleaving, once deletion has answered, nothing the account wrote
    survives in a private room, and none of its connections still receives anything."""
    from sqlalchemy import select

    from tryst.storage.tables import room_events, room_members

    host_api = await register(server.base, "racehost")
    host = await host_api.new_persona("Race Host")
    rooms = [await host_api.new_room(host["id"], f"Race Room {i}", visibility="invite_only")
             for i in range(6)]
    victim_api = await register(server.base, "racer")
    victim = await victim_api.new_persona("Racer")
    for room in rooms:
        await host_api.call("POST", f"/rooms/{room['id']}/invites", json={
            "persona_id": host["id"], "target_persona_id": victim["id"]})
    ws = await Ws.connect(server.base, victim_api.token)
    await ws.hello(victim["id"])

    async def keep_busy() -> None:
        for room in rooms:
            for command in (("join", {}), ("say", {"text": "racing line"})):
                reply = await ws.request(command[0], room=room["id"], **command[1])
                if reply["type"] == "error" or ws.conn.close_code is not None:
                    return

    busy = asyncio.create_task(keep_busy())
    await asyncio.sleep(0.01)
    await victim_api.call("DELETE", "/accounts/me", expect=204,
                          json={"password": PASSWORD, "confirm": "delete my account"})
    await asyncio.gather(busy, return_exceptions=True)  # it stops when it is refused or cut
    async with server.tryst.engine.connect() as conn:
        lines = (await conn.execute(select(room_events.c.text).where(
            room_events.c.text == "racing line"))).all()
        members = (await conn.execute(select(room_members).where(
            room_members.c.persona_id == victim["id"]))).all()
    assert lines == [] and members == []
    host_ws = await Ws.connect(server.base, host_api.token)
    await host_ws.hello(host["id"])
    for room in rooms:
        await host_ws.ok("say", room=room["id"], text="after")
    await asyncio.sleep(0.2)
    assert "after" not in json.dumps(ws.events)
    await host_ws.close()
