"""Personas over real HTTP and WebSocket: validation, limits, privacy of ownership."""

from __future__ import annotations

import pytest

from tests.client import ApiError, Ws
from tests.conftest import Running, ServerFactory


async def test_create_persona_with_profile_interests_and_limits(server: Running) -> None:
    api = await server.user()
    persona = await api.new_persona(
        "Rowan Ash", age=34, pronouns="they/them", short_description="A quiet archivist.",
        profile="Longer profile text.\nWith a second line.",
        interests={"romance": "fave", "slow-burn": "yes", "horror": "maybe", "blood": "no"},
        hard_limits=["real-world names", "real-world names", "  no spoilers  "])
    assert persona["name"] == "Rowan Ash"
    assert persona["interests"] == {"blood": "no", "horror": "maybe", "romance": "fave",
                                    "slow-burn": "yes"}
    assert persona["hard_limits"] == ["real-world names", "no spoilers"]  # cleaned, deduped
    assert persona["adult_content"] is False  # opt-in, never default
    assert "account_id" not in persona and "account" not in persona
    mine = await api.call("GET", "/personas")
    assert [p["id"] for p in mine["personas"]] == [persona["id"]]


@pytest.mark.parametrize(("fields", "field"), [
    ({"name": "Young One", "age": 17}, "age"),
    ({"name": "Zero", "age": 0}, "age"),
    ({"name": "X", "age": 30}, "name"),
    ({"name": "Bad\u202eName", "age": 30}, "name"),
    ({"name": "_under", "age": 30}, "name"),
    ({"name": "Fine Name", "age": 30, "interests": {"not-a-tag": "yes"}}, "interests"),
    ({"name": "Fine Name", "age": 30, "short_description": "s" * 201}, "short_description"),
    ({"name": "Fine Name", "age": 30, "hard_limits": ["\x00"]}, "hard_limits"),
])
async def test_invalid_personas_are_refused(server: Running, fields: dict[str, object],
                                            field: str) -> None:
    api = await server.user()
    response = await api.http.post("/api/v1/personas", json=fields)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert error["details"]["field"] == field
    assert (await api.call("GET", "/personas"))["personas"] == []  # nothing half-made


async def test_interest_level_must_be_fave_yes_maybe_or_no(server: Running) -> None:
    api = await server.user()
    response = await api.http.post("/api/v1/personas", json={
        "name": "Level Test", "age": 30, "interests": {"romance": "love"}})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "bad_request"


async def test_names_are_unique_across_accounts_ignoring_case(server: Running) -> None:
    a, b = await server.user(), await server.user()
    await a.new_persona("Sage Moor")
    for name in ("sage moor", "SAGE MOOR", "\uff33age Moor"):
        with pytest.raises(ApiError) as err:
            await b.new_persona(name)
        assert err.value.status == 409 and err.value.code == "conflict"


async def test_persona_limit_per_account(server_factory: ServerFactory) -> None:
    async with server_factory(max_personas=3) as srv:
        api = await srv.user()
        for i in range(3):
            await api.new_persona(f"Limit {chr(65 + i)}")
        with pytest.raises(ApiError) as err:
            await api.new_persona("Limit D")
        assert err.value.status == 409 and err.value.code == "limit_reached"
        assert err.value.body["error"]["details"]["limit"] == 3


async def test_update_and_delete_only_own_personas(server: Running) -> None:
    owner, other = await server.user(), await server.user()
    persona = await owner.new_persona("Tam Reed")
    updated = await owner.call("PATCH", f"/personas/{persona['id']}",
                               json={"pronouns": "she/her", "adult_content": True})
    assert updated["pronouns"] == "she/her" and updated["adult_content"] is True
    with pytest.raises(ApiError) as err:
        await owner.call("PATCH", f"/personas/{persona['id']}", json={"age": 16})
    assert err.value.code == "invalid"
    # Someone else's persona looks exactly like one that does not exist.
    for method in ("PATCH", "DELETE"):
        with pytest.raises(ApiError) as theirs:
            await other.call(method, f"/personas/{persona['id']}",
                             json={"pronouns": "x"} if method == "PATCH" else None)
        with pytest.raises(ApiError) as missing:
            await other.call(method, "/personas/p_0000000000000000",
                             json={"pronouns": "x"} if method == "PATCH" else None)
        assert theirs.value.status == missing.value.status == 404
        assert theirs.value.body == missing.value.body
    card = await other.call("GET", f"/personas/{persona['id']}")
    assert card["pronouns"] == "she/her"
    await owner.call("DELETE", f"/personas/{persona['id']}", expect=204)
    with pytest.raises(ApiError):
        await other.call("GET", f"/personas/{persona['id']}")


async def test_only_staff_can_see_which_personas_share_an_account(server: Running) -> None:
    from tryst.domain.accounts import Role

    user, nosy, mod = await server.user(), await server.user(), await server.user("modder")
    first = await user.new_persona("Ula First")
    second = await user.new_persona("Ula Second")
    with pytest.raises(ApiError) as err:
        await nosy.call("GET", f"/admin/personas/{first['id']}/account")
    assert err.value.status == 403
    by_name = await nosy.call("GET", "/personas/by-name/ula first")
    assert by_name["id"] == first["id"] and "account" not in str(by_name)
    async with server.tryst.engine.begin() as conn:  # promote through storage, as an operator
        from sqlalchemy import update

        from tryst.storage.tables import accounts
        await conn.execute(update(accounts).where(accounts.c.username == "modder")
                           .values(role=Role.MODERATOR.value))
    seen = await mod.call("GET", f"/admin/personas/{first['id']}/account")
    assert {p["id"] for p in seen["personas"]} == {first["id"], second["id"]}


async def test_connection_acts_as_one_persona_and_can_switch(server: Running) -> None:
    api, other = await server.user(), await server.user()
    one = await api.new_persona("Vic One")
    two = await api.new_persona("Vic Two")
    theirs = await other.new_persona("Not Yours")
    room = await api.new_room(one["id"], "Switch Room")
    ws = await Ws.connect(server.base, api.token)
    hello = await ws.hello()
    assert "persona" not in hello
    assert (await ws.fail("say", room=room["id"], text="hi"))["code"] == "no_persona"
    selected = await ws.ok("switch_persona", persona=one["id"])
    assert selected["persona"]["name"] == "Vic One"
    assert f"room:{room['id']}" in selected["streams"]
    await ws.ok("say", room=room["id"], text="as one")
    assert (await ws.fail("switch_persona", persona=theirs["id"]))["code"] == "not_found"
    selected = await ws.ok("switch_persona", persona=two["id"])
    assert selected["streams"] == {}  # two has joined nothing yet
    assert (await ws.fail("say", room=room["id"], text="as two"))["code"] == "not_member"
    await ws.ok("join", room=room["id"])
    ack = await ws.ok("say", room=room["id"], text="as two")
    event = await ws.wait_event(room["id"], "say", "as two")
    assert event["persona"]["name"] == "Vic Two" and event["seq"] == ack["seq"]
    await ws.close()


async def test_tag_vocabulary_is_served_and_operator_can_extend_it(
        server_factory: ServerFactory, tmp_path: object) -> None:
    from pathlib import Path
    tags_file = Path(str(tmp_path)) / "tags.json"
    tags_file.write_text('{"mode": "extend", "categories": [{"name": "Local", "tags": '
                         '[{"id": "tea-parties", "name": "Tea parties"}]}]}')
    async with server_factory(tags_file=tags_file) as srv:
        api = await srv.user()
        vocab = await api.call("GET", "/tags")
        names = {c["name"] for c in vocab["categories"]}
        assert {"Genre", "Local"} <= names
        persona = await api.new_persona("Tea Host", interests={"tea-parties": "fave"})
        assert persona["interests"] == {"tea-parties": "fave"}
    tags_file.write_text('{"mode": "replace", "categories": [{"name": "Only", "tags": '
                         '[{"id": "only-tag", "name": "Only tag"}]}]}')
    async with server_factory(tags_file=tags_file) as srv:
        api = await srv.user()
        vocab = await api.call("GET", "/tags")
        assert [c["name"] for c in vocab["categories"]] == ["Only"]


async def test_tags_removed_by_the_operator_do_not_block_other_edits(
        server_factory: ServerFactory, tmp_path: object) -> None:
    from pathlib import Path
    tags_file = Path(str(tmp_path)) / "tags.json"
    tags_file.write_text('{"categories": [{"name": "Local", "tags": '
                         '[{"id": "tea-parties", "name": "Tea parties"}]}]}')
    async with server_factory(tags_file=tags_file) as srv:
        api = await srv.user("tagged")
        persona = await api.new_persona("Tag Keeper",
                                        interests={"tea-parties": "fave", "romance": "yes"})
        token = api.token
    async with server_factory() as srv:  # same database, tag no longer offered
        from tests.client import Api
        api = Api(srv.base, token)
        updated = await api.call("PATCH", f"/personas/{persona['id']}",
                                 json={"pronouns": "he/him"})
        assert updated["pronouns"] == "he/him"
        assert updated["interests"] == {"romance": "yes"}
        with pytest.raises(ApiError) as err:
            await api.call("PATCH", f"/personas/{persona['id']}",
                           json={"interests": {"tea-parties": "yes"}})
        assert err.value.body["error"]["details"]["unknown_tags"] == ["tea-parties"]
