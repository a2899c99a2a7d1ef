"""Blocks, mutes, who-may-reach-me and presence status.

Blocks are account-wide and invisible: the blocked side is never told, and nothing it
can observe differs from "no answer yet" (docs/protocol.md, "Blocks")."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from tryst.clock import Clock
from tryst.domain.accounts import Account
from tryst.domain.blocks import Block, Boundary, Mute, validate_mute_minutes
from tryst.domain.conversations import (
    Boundaries,
    MemberState,
    Reach,
    Status,
    default_boundaries,
    validate_auto_reply,
    validate_status_message,
)
from tryst.domain.errors import InvalidInput, NotFound
from tryst.domain.events import Signal
from tryst.domain.personas import Persona
from tryst.domain.text import choice
from tryst.ids import AccountId, PersonaId, conversation_stream
from tryst.ports import Bus, Presence, UnitOfWork, UnitOfWorkFactory
from tryst.services.actor import Actor

BOUNDARY_FIELDS = frozenset({"reach", "refuse_limit_conflicts", "auto_reply", "status",
                             "status_message"})


class BoundaryService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, bus: Bus,
                 presence: Presence) -> None:
        self._uow = uow
        self._clock = clock
        self._bus = bus
        self._presence = presence
        # One Boundary per account while anything (a live connection) holds it; updated
        # in place so every connection sees a block the moment it commits.
        self._live: weakref.WeakValueDictionary[AccountId, Boundary] = (
            weakref.WeakValueDictionary())
        self._generation = 0
        self._tasks: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------ what an account sees

    async def boundary(self, account_id: AccountId) -> Boundary:
        """The account's live Boundary (loaded from the database if nobody holds it)."""
        while True:
            current = self._live.get(account_id)
            if current is not None:
                return current
            generation = self._generation
            async with self._uow(readonly=True) as uow:
                loaded = await self._load(uow, account_id)
            if generation == self._generation:  # no block or mute changed meanwhile
                current = self._live.get(account_id)
                if current is not None:
                    return current
                self._live[account_id] = loaded
                return loaded

    async def _load(self, uow: UnitOfWork, account_id: AccountId) -> Boundary:
        hidden = await uow.boundaries.hidden_from(account_id)
        mutes = await uow.boundaries.mutes_of(account_id, self._clock.now())
        return Boundary(hidden=hidden,
                        mutes={m.persona_id: (m.created_at, m.until) for m in mutes},
                        mine=await uow.boundaries.blocked_by(account_id),
                        periods=await uow.boundaries.past_periods(account_id))

    async def _refresh(self, *account_ids: AccountId) -> None:
        """Reload the live Boundaries of these accounts after a change commits."""
        self._generation += 1
        async with self._uow(readonly=True) as uow:
            for account_id in account_ids:
                live = self._live.get(account_id)
                if live is None:
                    continue
                live.update(await self._load(uow, account_id))

    # ------------------------------------------------------------ blocks

    async def _target(self, uow: UnitOfWork, actor_account: Account,
                      persona_id: str) -> Persona:
        target = await uow.personas.get(PersonaId(persona_id))
        if target is None:
            raise NotFound("no such persona")
        if target.account_id == actor_account.id:
            raise InvalidInput("that is one of your own personas")
        return target

    async def block(self, account: Account, persona_id: str) -> Block:
        """Block a persona and, silently, every persona of its account. Pending requests
        and invitations between the two accounts are declined."""
        async with self._uow() as uow:
            target = await self._target(uow, account, persona_id)
            block = Block(blocker=account.id, persona_id=target.id, persona_name=target.name,
                          blocked=target.account_id, created_at=self._clock.now())
            await uow.boundaries.add_block(block)
            await uow.boundaries.sync_period(account.id, target.account_id, block.created_at)
            await self._decline_between(uow, account.id, target.account_id)
            await uow.commit()
        await self._refresh(account.id, target.account_id)
        return block

    async def _decline_between(self, uow: UnitOfWork, a: AccountId, b: AccountId) -> None:
        mine = {p.id for p in await uow.personas.for_account(a)}
        theirs = {p.id for p in await uow.personas.for_account(b)}
        for invitees, inviters in ((mine, theirs), (theirs, mine)):
            for pid in invitees:
                for member in await uow.conversations.memberships_of(
                        pid, [MemberState.INVITED]):
                    if member.invited_by in inviters:
                        await uow.conversations.put_member(
                            replace(member, state=MemberState.DECLINED))

    async def unblock(self, account: Account, persona_id: str) -> None:
        async with self._uow() as uow:
            removed = await uow.boundaries.remove_block(account.id, PersonaId(persona_id))
            if removed is None:
                raise NotFound("you have not blocked that persona")
            await uow.boundaries.sync_period(account.id, removed.blocked, self._clock.now())
            await uow.commit()
        await self._refresh(account.id, removed.blocked)

    async def blocks(self, account: Account) -> list[Block]:
        async with self._uow(readonly=True) as uow:
            return await uow.boundaries.blocks_of(account.id)

    # ------------------------------------------------------------ mutes

    async def mute(self, account: Account, persona_id: str, minutes: int) -> Mute:
        length = validate_mute_minutes(minutes)
        now = self._clock.now()
        async with self._uow() as uow:
            target = await self._target(uow, account, persona_id)
            mute = Mute(account_id=account.id, persona_id=target.id,
                        persona_name=target.name, created_at=now, until=now + length)
            await uow.boundaries.put_mute(mute)
            await uow.commit()
        await self._refresh(account.id)
        return mute

    async def unmute(self, account: Account, persona_id: str) -> None:
        async with self._uow() as uow:
            if not await uow.boundaries.remove_mute(account.id, PersonaId(persona_id)):
                raise NotFound("you have not muted that persona")
            await uow.commit()
        await self._refresh(account.id)

    async def mutes(self, account: Account) -> list[Mute]:
        async with self._uow(readonly=True) as uow:
            return await uow.boundaries.mutes_of(account.id, self._clock.now())

    # ------------------------------------------------------------ boundaries and status

    async def get(self, actor: Actor) -> Boundaries:
        async with self._uow(readonly=True) as uow:
            return await uow.boundaries.get(actor.persona.id) \
                or default_boundaries(actor.persona.id)

    async def update(self, actor: Actor, changes: Mapping[str, Any]) -> Boundaries:
        unknown = set(changes) - BOUNDARY_FIELDS
        if unknown:
            raise InvalidInput("unknown fields", details={"fields": sorted(unknown)})
        async with self._uow() as uow:
            if await uow.personas.get(actor.persona.id) is None:
                raise NotFound("this persona no longer exists")
            old = await uow.boundaries.get(actor.persona.id) \
                or default_boundaries(actor.persona.id)
            new = replace(
                old,
                reach=choice(Reach, changes["reach"], "reach") if "reach" in changes
                else old.reach,
                refuse_limit_conflicts=bool(changes.get("refuse_limit_conflicts",
                                                        old.refuse_limit_conflicts)),
                auto_reply=validate_auto_reply(changes["auto_reply"])
                if "auto_reply" in changes else old.auto_reply,
                status=choice(Status, changes["status"], "status") if "status" in changes
                else old.status,
                status_message=validate_status_message(changes["status_message"])
                if "status_message" in changes else old.status_message)
            await uow.boundaries.put(new)
            await uow.commit()
        if (new.status, new.status_message) != (old.status, old.status_message):
            await self.announce(actor.persona, new)
        return new

    async def presence_of(self, viewer: AccountId, persona_ids: list[PersonaId]
                          ) -> dict[PersonaId, tuple[bool, Boundaries]]:
        """Online flag and status of each persona as this viewer may see it: a persona
        on the other side of a block always looks offline."""
        hidden = (await self.boundary(viewer)).hidden
        async with self._uow(readonly=True) as uow:
            personas = await uow.personas.many(persona_ids)
            stored = await uow.boundaries.many(list(personas))
        online = self._presence.online(personas)
        out: dict[PersonaId, tuple[bool, Boundaries]] = {}
        for pid, persona in personas.items():
            bnd = stored.get(pid) or default_boundaries(pid)
            if persona.account_id in hidden:
                out[pid] = (False, default_boundaries(pid))
            else:
                out[pid] = (pid in online, bnd)
        return out

    async def announce(self, persona: Persona, boundaries: Boundaries | None = None) -> None:
        """Tell this persona's conversations its presence changed (live only)."""
        async with self._uow(readonly=True) as uow:
            if boundaries is None:
                boundaries = await uow.boundaries.get(persona.id) \
                    or default_boundaries(persona.id)
            members = await uow.conversations.memberships_of(persona.id,
                                                              [MemberState.ACTIVE])
        online = bool(self._presence.online([persona.id]))
        now = self._clock.now()
        for member in members:
            self._bus.publish(Signal(
                stream=conversation_stream(member.conversation_id), kind="presence", at=now,
                persona_id=persona.id, persona_name=persona.name,
                account_id=persona.account_id, to=None,
                data={"online": online,
                      "status": boundaries.status.value if online else "offline",
                      "status_message": boundaries.status_message if online else ""}))

    def announce_soon(self, persona: Persona) -> None:
        """Called when a persona's first connection opens or its last one closes."""
        task = asyncio.get_running_loop().create_task(self.announce(persona))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda t: t.cancelled() or t.exception())
