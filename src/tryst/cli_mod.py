"""`tryst mod` (the moderation queue on the command line) and `tryst audit verify`."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from typing import Any

import click

from tryst.domain.errors import TrystError


def make_groups(db_options: Callable[[Any], Any],
                settings_of: Callable[[dict[str, Any]], Any]) -> list[click.Group]:
    def run(values: dict[str, Any], action: Callable[[Any], Any]) -> Any:
        from tryst.app import build
        from tryst.storage import migrate as migrations

        async def go() -> Any:
            tryst = build(settings_of(values))
            try:
                await migrations.upgrade(tryst.engine)
                return await action(tryst)
            finally:
                await tryst.engine.dispose()

        try:
            return asyncio.run(go())
        except TrystError as exc:
            raise click.ClickException(exc.message) from None

    async def moderator(tryst: Any, username: str) -> Any:
        return await tryst.moderation.moderator_named(username)

    as_option = click.option("--as", "username", required=True, envvar="TRYST_MODERATOR",
                             show_envvar=True, help="Your moderator or operator username "
                             "(recorded in the audit trail).")

    @click.group()
    def mod() -> None:
        """The moderation queue: cases, an account's history, restrictions.

        Every action takes a reason and is written to the audit trail."""

    @mod.command("cases")
    @click.option("--status", type=click.Choice(["open", "closed", "all"]), default="open",
                  show_default=True)
    @as_option
    @db_options
    def cases(status: str, username: str, **values: Any) -> None:
        """List cases, oldest first, one JSON line each."""
        async def action(tryst: Any) -> Any:
            who = await moderator(tryst, username)
            return await tryst.moderation.cases(who, None if status == "all" else status)
        for case in run(values, action):
            click.echo(json.dumps(_case(case, full=False)))

    @mod.command("show")
    @click.argument("case_id")
    @as_option
    @db_options
    def show(case_id: str, username: str, **values: Any) -> None:
        """Show one case with its evidence."""
        async def action(tryst: Any) -> Any:
            return await tryst.moderation.case(await moderator(tryst, username), case_id)
        click.echo(json.dumps(_case(run(values, action), full=True), indent=2))

    @mod.command("history")
    @click.argument("account_id")
    @as_option
    @db_options
    def history(account_id: str, username: str, **values: Any) -> None:
        """An account's record across all its personas: cases, restriction, audit."""
        async def action(tryst: Any) -> Any:
            return await tryst.moderation.history(await moderator(tryst, username),
                                                  account_id)
        found = run(values, action)
        click.echo(json.dumps({
            "account": {"id": found.account.id, "username": found.account.username},
            "personas": [{"id": i, "name": n} for i, n in found.personas],
            "restriction": None if found.restriction is None else {
                "signal": found.restriction.signal, "reason": found.restriction.reason,
                "case": found.restriction.case_id, "at": found.restriction.at.isoformat()},
            "cases": [_case(c, full=False) for c in found.cases],
            "audit": [_entry(e) for e in found.audit]}, indent=2))

    def _action(name: str, doc: str, method: str) -> None:
        @mod.command(name, help=doc)
        @click.argument("target")
        @click.option("--reason", required=True, help="Why (recorded in the audit trail).")
        @as_option
        @db_options
        def command(target: str, reason: str, username: str, **values: Any) -> None:
            async def action(tryst: Any) -> Any:
                who = await moderator(tryst, username)
                return await getattr(tryst.moderation, method)(who, target, reason)
            run(values, action)
            click.echo(f"{name}: done")

    _action("lift", "Lift the restriction on account TARGET.", "lift")
    _action("restrict", "Restrict account TARGET pending review.", "restrict")
    _action("close", "Close case TARGET.", "close_case")

    @click.group()
    def audit() -> None:
        """The append-only, hash-chained audit trail."""

    @audit.command("verify")
    @db_options
    def verify(**values: Any) -> None:
        """Check every entry's hash and link; exit 1 at the first that fails."""
        async def action(tryst: Any) -> Any:
            return await tryst.moderation.verify_audit()
        result = run(values, action)
        click.echo(json.dumps({"entries": result.entries, "ok": result.ok,
                               "first_bad": result.first_bad, "problem": result.problem,
                               "head": result.head}))
        if not result.ok:
            sys.exit(1)

    return [mod, audit]


def _case(case: Any, *, full: bool) -> dict[str, Any]:
    out = {"id": case.id, "kind": case.kind, "status": case.status,
           "created_at": case.created_at.isoformat(), "account": case.account_id,
           "persona": case.persona_id, "summary": case.summary}
    if full:
        out["details"] = case.details
    return out


def _entry(entry: Any) -> dict[str, Any]:
    return {"seq": entry.seq, "at": entry.at.isoformat(), "actor": entry.actor,
            "action": entry.action, "reason": entry.reason, "details": entry.details}
