"""Sign-up, login sessions, password changes, export and erasure of accounts."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain.accounts import (
    Account,
    AgeEvidence,
    Role,
    normalise_username,
    validate_password,
)
from tryst.domain.errors import Conflict, InvalidInput, NotAuthenticated
from tryst.ids import PersonaId, new_account_id
from tryst.ports import (
    AgeAssuranceProvider,
    AuthSession,
    Bus,
    ConnectionControl,
    PasswordHasher,
    UnitOfWork,
    UnitOfWorkFactory,
)
from tryst.services.erasure import erase_personas
from tryst.services.sequencer import StreamSequencer


def token_hash(token: str) -> str:
    """Only a hash of each session token is stored: a database leak yields no live logins."""
    return hashlib.sha256(token.encode()).hexdigest()


class AccountService:
    def __init__(self, *, uow: UnitOfWorkFactory, hasher: PasswordHasher,
                 age: AgeAssuranceProvider, clock: Clock, settings: Settings, bus: Bus,
                 sequencer: StreamSequencer, connections: ConnectionControl) -> None:
        self._uow = uow
        self._hasher = hasher
        self._age = age
        self._clock = clock
        self._settings = settings
        self._bus = bus
        self._seq = sequencer
        self._connections = connections
        # Run for each persona before it is erased: it leaves its scenes and withdraws
        # from their logs (app.py wires them; this service knows nothing of scenes).
        self.persona_erasers: list[Callable[[PersonaId], Awaitable[None]]] = []

    async def register(self, username: str, password: str, evidence: AgeEvidence, *,
                       client: str, role: Role = Role.USER) -> tuple[Account, str]:
        """Create an account after the age-assurance step; returns it and a session token."""
        name = normalise_username(username)
        validate_password(password)
        now = self._clock.now()
        assurance = self._age.assure(evidence, now)
        password_hash = await self._hasher.hash(password)
        account = Account(id=new_account_id(), username=name, role=role, created_at=now,
                          age=assurance)
        async with self._uow() as uow:
            if await uow.accounts.by_username(name) is not None:
                raise Conflict("that username is taken", details={"field": "username"})
            await uow.accounts.add(account, password_hash)
            token = await self._open_session(uow, account, client)
            await uow.commit()
        return account, token

    async def login(self, username: str, password: str, *, client: str) -> tuple[Account, str]:
        try:
            name = normalise_username(username)
        except InvalidInput:
            name = ""
        async with self._uow() as uow:
            found = await uow.accounts.by_username(name) if name else None
            # Always verify something, so unknown usernames cost the same time.
            ok = await self._hasher.verify(found[1] if found else "", password)
            if found is None or not ok:
                raise NotAuthenticated("wrong username or password")
            token = await self._open_session(uow, found[0], client)
            await uow.commit()
        return found[0], token

    async def _open_session(self, uow: Any, account: Account, client: str) -> str:
        token = secrets.token_urlsafe(32)
        now = self._clock.now()
        await uow.sessions.add(AuthSession(
            token_hash=token_hash(token), account_id=account.id, created_at=now,
            expires_at=now + timedelta(days=self._settings.session_days), client=client))
        return token

    async def authenticate(self, token: str) -> tuple[Account, str]:
        """Resolve a session token to its account; returns the account and token hash."""
        if not token or len(token) > 256:
            raise NotAuthenticated("log in first")
        digest = token_hash(token)
        async with self._uow(readonly=True) as uow:
            session = await uow.sessions.get(digest)
            if session is None or session.expires_at <= self._clock.now():
                raise NotAuthenticated("your session has ended: log in again")
            account = await uow.accounts.get(session.account_id)
        if account is None:
            raise NotAuthenticated("your session has ended: log in again")
        return account, digest

    async def logout(self, account: Account, digest: str) -> None:
        async with self._uow() as uow:
            await uow.sessions.revoke(digest)
            await uow.commit()
        self._connections.close_account(account.id, keep_token_hash=None, reason="logged out",
                                        only_token_hash=digest)

    async def change_password(self, account: Account, digest: str, current: str,
                              new: str) -> int:
        """Change the password and end every other session; returns how many ended."""
        validate_password(new)
        async with self._uow() as uow:
            stored = await uow.accounts.password_hash(account.id)
            if not await self._hasher.verify(stored, current):
                raise NotAuthenticated("the current password is wrong")
            await uow.accounts.set_password(account.id, await self._hasher.hash(new))
            ended = await uow.sessions.revoke_all_except(account.id, keep=digest)
            await uow.commit()
        self._connections.close_account(account.id, keep_token_hash=digest,
                                        reason="password changed")
        return ended

    async def delete_account(self, account: Account, password: str) -> None:
        """Erase the account: personas and profile go; in invite-only rooms what they wrote
        is deleted, elsewhere it becomes "[deleted]"; every session ends."""
        async with self._uow(readonly=True) as uow:
            stored = await uow.accounts.password_hash(account.id)
        if not await self._hasher.verify(stored, password):
            raise NotAuthenticated("the password is wrong")
        # End every session first, so nothing new can authenticate, then close the live
        # connections: no connection of this account acts while it is being erased.
        async with self._uow() as uow:
            await uow.sessions.revoke_all_except(account.id, keep=None)
            await uow.commit()
        self._connections.close_account(account.id, keep_token_hash=None,
                                        reason="account deleted")

        async def personas_of(uow: UnitOfWork) -> list[PersonaId]:
            return [p.id for p in await uow.personas.for_account(account.id)]

        async with self._uow(readonly=True) as uow:
            for pid in await personas_of(uow):
                for withdraw in self.persona_erasers:
                    await withdraw(pid)

        async def delete_row(uow: UnitOfWork) -> None:
            await uow.accounts.delete(account.id)

        await erase_personas(uow=self._uow, sequencer=self._seq, bus=self._bus,
                             settings=self._settings,
                             clock=self._clock, persona_ids=personas_of, finish=delete_row)
        # A connection that authenticated just before the sessions ended.
        self._connections.close_account(account.id, keep_token_hash=None,
                                        reason="account deleted")

    async def export(self, account: Account) -> dict[str, object]:
        """Everything stored about the account, as JSON-ready data."""
        async with self._uow(readonly=True) as uow:
            personas = await uow.personas.for_account(account.id)
            sessions = await uow.sessions.for_account(account.id)
            memberships = {p.id: await uow.rooms.rooms_of(p.id) for p in personas}
            authored = await uow.events.authored_by([p.id for p in personas])
            conversation_lines = await uow.conversations.authored_by([p.id for p in personas])
            blocks = await uow.boundaries.blocks_of(account.id)
            mutes = await uow.boundaries.mutes_of(account.id, self._clock.now())
            boundaries = await uow.boundaries.many([p.id for p in personas])
            consent = await uow.scenelogs.consent_of([p.id for p in personas])
            logs = await uow.scenelogs.logs_of(account.id)
        return {
            "format": "tryst-account-export/1",
            "exported_at": self._clock.now().isoformat(),
            "account": {
                "id": account.id, "username": account.username, "role": account.role.value,
                "created_at": account.created_at.isoformat(),
                "age_assurance": {"result": account.age.result, "method": account.age.method,
                                  "attested_at": account.age.attested_at.isoformat()},
            },
            "sessions": [{"client": s.client, "created_at": s.created_at.isoformat(),
                          "expires_at": s.expires_at.isoformat()} for s in sessions],
            "personas": [{
                "id": p.id, "name": p.name, "age": p.age, "pronouns": p.pronouns,
                "short_description": p.short_description, "profile": p.profile,
                "interests": {k: v.value for k, v in p.interests.items()},
                "hard_limits": list(p.hard_limits), "adult_content": p.adult_content,
                "created_at": p.created_at.isoformat(),
                "rooms": [{"room_id": m.room_id, "role": m.role.value,
                           "joined_at": m.joined_at.isoformat()} for m in memberships[p.id]],
            } for p in personas],
            "room_messages": [{
                "room_id": e.room_id, "seq": e.seq, "at": e.at.isoformat(),
                "kind": e.kind.value, "persona_id": e.persona_id, "text": e.text,
            } for e in authored],
            # Only what this account wrote: the other members' lines are theirs.
            "conversation_messages": [{
                "conversation_id": e.conversation_id, "seq": e.seq, "at": e.at.isoformat(),
                "kind": e.kind.value, "persona_id": e.persona_id, "text": e.text,
            } for e in conversation_lines if e.kind.value in ("say", "pose", "ooc")],
            "blocks": [{"persona_id": b.persona_id, "persona_name": b.persona_name,
                        "created_at": b.created_at.isoformat()} for b in blocks],
            "mutes": [{"persona_id": m.persona_id, "until": m.until.isoformat()}
                      for m in mutes],
            "boundaries": [{"persona_id": b.persona_id, "reach": b.reach.value,
                            "refuse_limit_conflicts": b.refuse_limit_conflicts,
                            "auto_reply": b.auto_reply, "status": b.status.value,
                            "status_message": b.status_message}
                           for b in boundaries.values()],
            # The consent record of scenes (never their content) and the agreed logs this
            # account is in (their content is exported, fingerprinted, with export_log).
            "scene_consent": [{"scene_id": r.scene_id, "persona_id": r.persona_id,
                               "channel": r.channel, "action": r.action,
                               "at": r.at.isoformat(), "until": r.until.isoformat()}
                              for r in consent],
            "scene_logs": [{"id": x.id, "created_at": x.created_at.isoformat(),
                            "shredded_at": x.shredded_at.isoformat() if x.shredded_at
                            else None} for x in logs],
        }
