"""Moderators' first tools and the hash-chained audit trail: the queue, an account's
history, lifting and imposing restrictions with reasons, who may act, and tampering."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.conftest import Running, ServerFactory
from tests.test_conversations import opened, person
from tryst.domain.accounts import AgeEvidence, Role
from tryst.domain.errors import Forbidden, InvalidInput, NotFound

THREAT = "Send me $500 or I'll send your pics to your family"


async def operator(server: Running, name: str = "opal") -> object:
    account, _ = await server.tryst.accounts.register(
        name, "a long enough password", AgeEvidence(confirm_adult=True, extra={}),
        client="cli", role=Role.OPERATOR)
    return account


async def restricted_pair(server: Running) -> tuple[dict[str, object], str]:
    api_a, pa, wa = await person(server, "Ada Queue")
    _, pb, wb = await person(server, "Bo Queue")
    cid = await opened(wa, wb, pb)
    assert (await wa.fail("send", conversation=cid, text=THREAT))["code"] == "restricted"
    await server.tryst.private.conversations._safety.settle()  # type: ignore[union-attr]
    me = await api_a.call("GET", "/accounts/me")
    return {"ws": wa, "persona": pa, "account": me["id"], "cid": cid}, cid


async def test_the_queue_history_and_lifting_a_restriction(server: Running) -> None:
    op = await operator(server)
    moderation = server.tryst.moderation
    sender, cid = await restricted_pair(server)
    (case,) = await moderation.cases(op)
    assert case.kind == "safety_coercion" and case.account_id == sender["account"]
    assert (await moderation.case(op, case.id)).details["text"] == THREAT
    history = await moderation.history(op, str(sender["account"]))
    assert history.restriction is not None and history.restriction.signal == "coercion"
    assert [name for _, name in history.personas] == ["Ada Queue"]
    assert [e.action for e in history.audit] == ["restrict"]
    assert history.audit[0].actor == "system:safety"
    with pytest.raises(InvalidInput):
        await moderation.lift(op, str(sender["account"]), "  ")
    await moderation.lift(op, str(sender["account"]), "Reviewed: a quote from a film script")
    ws = sender["ws"]
    await ws.ok("send", conversation=cid, text="Sorry, that was a line from the script.")  # type: ignore[attr-defined]
    await moderation.close_case(op, case.id, "Reviewed with both people")
    assert await moderation.cases(op) == []
    actions = [e.action for e in (await moderation.history(op, str(sender["account"]))).audit]
    assert actions == ["restrict", "lift", "close_case"]
    await moderation.restrict(op, str(sender["account"]), "Pending a second report")
    assert (await ws.fail("send", conversation=cid, text="hello"))["code"] == "restricted"  # type: ignore[attr-defined]
    result = await moderation.verify_audit()
    assert result.ok and result.entries == 4
    # Another process (`tryst mod lift` on the command line) lifts it: the server picks
    # that up on its next refresh.
    async with server.tryst.engine.begin() as conn:
        await conn.execute(text("DELETE FROM account_restrictions"))
    await server.tryst.private.conversations._safety.refresh()  # type: ignore[union-attr]
    await ws.ok("send", conversation=cid, text="Thank you for looking.")  # type: ignore[attr-defined]


async def test_only_staff_may_moderate(server: Running) -> None:
    sender, _ = await restricted_pair(server)
    api = await server.user("plainuser")
    assert api.token is not None
    account, _ = await server.tryst.accounts.authenticate(api.token)
    moderation = server.tryst.moderation
    with pytest.raises(Forbidden):
        await moderation.cases(account)
    with pytest.raises(Forbidden):
        await moderation.lift(account, str(sender["account"]), "I would like to")
    op = await operator(server)
    with pytest.raises(NotFound):
        await moderation.lift(op, "a_0000000000000000", "no such account")


async def test_tampering_with_the_audit_trail_is_detected(server_factory: ServerFactory,
                                                           tmp_path: Path) -> None:
    async with server_factory() as server:
        op = await operator(server)
        sender, _ = await restricted_pair(server)
        await server.tryst.moderation.lift(op, str(sender["account"]), "Reviewed, fine")
        await server.tryst.moderation.restrict(op, str(sender["account"]), "Second look")
        assert (await server.tryst.moderation.verify_audit()).ok
        url = server.tryst.settings.resolved_database_url()
        engine = server.tryst.engine
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET reason = 'nothing happened' "
                                    "WHERE seq = 2"))
        broken = await server.tryst.moderation.verify_audit()
        assert not broken.ok and broken.first_bad == 2 and "altered" in broken.problem
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE audit_log SET reason = 'Reviewed, fine' "
                                    "WHERE seq = 2"))
        assert (await server.tryst.moderation.verify_audit()).ok
        async with engine.begin() as conn:
            await conn.execute(text("DELETE FROM audit_log WHERE seq = 2"))
        missing = await server.tryst.moderation.verify_audit()
        assert not missing.ok and missing.first_bad == 3 and "missing" in missing.problem
    # The command line says the same, and exits 1.
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "tryst", "audit", "verify", "--database-url",
                         url], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] is False and report["first_bad"] == 3
