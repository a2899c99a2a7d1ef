"""All live sessions of this node: connection limits, presence, membership-driven
subscriptions, and closing connections whose login sessions were revoked."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from tryst.domain.errors import LimitReached
from tryst.domain.events import ConversationEvent, RoomEvent, SceneEvent
from tryst.domain.personas import Persona
from tryst.domain.rooms import EventKind
from tryst.ids import AccountId, PersonaId
from tryst.ports import Delivery
from tryst.sessions.session import Session


class SessionRegistry:
    def __init__(self, max_connections_per_account: int) -> None:
        self._max = max_connections_per_account
        self._by_account: dict[AccountId, set[Session]] = {}
        self._by_persona: dict[PersonaId, set[Session]] = {}
        # Called when a persona's first connection opens or its last one closes.
        self.on_presence: Callable[[Persona], None] | None = None

    def __len__(self) -> int:
        return sum(len(s) for s in self._by_account.values())

    def register(self, session: Session) -> None:
        sessions = self._by_account.setdefault(session.account.id, set())
        if len(sessions) >= self._max:
            if not sessions:
                del self._by_account[session.account.id]
            raise LimitReached(
                f"an account can have at most {self._max} connections open at once",
                details={"limit": self._max})
        sessions.add(session)
        session.on_persona_change = self._persona_changed

    def unregister(self, session: Session) -> None:
        sessions = self._by_account.get(session.account.id)
        if sessions is not None:
            sessions.discard(session)
            if not sessions:
                del self._by_account[session.account.id]
        if session.persona is not None:
            self._persona_changed(session, session.persona, None)
        session.detach_all()

    def _persona_changed(self, session: Session, old: Persona | None,
                         new: Persona | None) -> None:
        if old is not None:
            group = self._by_persona.get(old.id)
            if group is not None:
                group.discard(session)
                if not group:
                    del self._by_persona[old.id]
                    if self.on_presence is not None:
                        self.on_presence(old)
        if new is not None:
            group = self._by_persona.setdefault(new.id, set())
            group.add(session)
            if len(group) == 1 and self.on_presence is not None:
                self.on_presence(new)

    # ------------------------------------------------------------ Presence port

    def online(self, persona_ids: Iterable[PersonaId]) -> set[PersonaId]:
        return {p for p in persona_ids if p in self._by_persona}

    # ------------------------------------------------------------ ConnectionControl port

    def close_account(self, account_id: AccountId, *, keep_token_hash: str | None,
                      reason: str, only_token_hash: str | None = None) -> int:
        closed = 0
        for session in list(self._by_account.get(account_id, ())):
            if keep_token_hash is not None and session.token_hash == keep_token_hash:
                continue
            if only_token_hash is not None and session.token_hash != only_token_hash:
                continue
            session.close(4001, reason)
            closed += 1
        return closed

    def close_persona(self, persona_id: PersonaId, *, reason: str) -> int:
        sessions = list(self._by_persona.get(persona_id, ()))
        for session in sessions:
            # Stop deliveries now, not when the socket finally closes.
            session.detach_all()
            session.close(4002, reason)
        return len(sessions)

    # ------------------------------------------------------------ bus observer

    def observe(self, delivery: Delivery) -> None:
        """Keep every connection of a persona subscribed to exactly the rooms it belongs
        to, whichever connection (or moderator) changed the membership."""
        event = delivery.event
        kind = type(event)
        if kind is SceneEvent:
            assert isinstance(event, SceneEvent)
            self._observe_scene(delivery, event)
            return
        if kind is not RoomEvent and kind is not ConversationEvent:
            return
        assert isinstance(event, RoomEvent | ConversationEvent)
        if event.persona_id is None:
            return
        if event.kind is EventKind.JOIN:
            for session in self._by_persona.get(event.persona_id, ()):
                session.follow(delivery.stream, after=event.seq - 1)
        elif event.kind is EventKind.LEAVE:
            for session in list(self._by_persona.get(event.persona_id, ())):
                session.deliver(delivery)  # they see their own leave, then nothing more
                session.unfollow(delivery.stream)

    def _observe_scene(self, delivery: Delivery, event: SceneEvent) -> None:
        """Scenes say who starts and stops following them (invited, declined, left)."""
        for persona_id in event.follow:
            for session in self._by_persona.get(persona_id, ()):
                session.follow(delivery.stream, after=event.seq - 1)
        for persona_id in event.unfollow:
            for session in list(self._by_persona.get(persona_id, ())):
                session.deliver(delivery)  # they see the event that lets them go
                session.unfollow(delivery.stream)
