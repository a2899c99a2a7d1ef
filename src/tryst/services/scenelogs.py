"""Agreed scene logs: stored only with every participant's consent, encrypted under a
per-log key, shredded (key destroyed) the moment anyone withdraws, exported with a
fingerprint that ``tryst trace`` can follow back to the export."""

from __future__ import annotations

import hashlib
import hmac
import html
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from tryst.clock import Clock
from tryst.config import Settings
from tryst.domain import fingerprint
from tryst.domain.accounts import Account
from tryst.domain.errors import InvalidInput, NotFound
from tryst.domain.events import SceneEvent
from tryst.domain.scenelogs import LogExport, LogMember, SceneLog, SealedEntry
from tryst.domain.scenes import ParticipantState, Scene
from tryst.ids import PersonaId
from tryst.ports import KeyStore, UnitOfWork, UnitOfWorkFactory

LOG_KEYS = "scene-log"
FINGERPRINT_KEYS = "fingerprint"
FINGERPRINT_KEY_ID = "v1"
FORMATS = ("text", "html")


@dataclass(frozen=True, slots=True)
class LogSummary:
    log: SceneLog
    members: list[LogMember]
    title: str | None  # None once shredded: nobody can read it any more


@dataclass(frozen=True, slots=True)
class Export:
    id: str
    format: str
    filename: str
    content: str


@dataclass(frozen=True, slots=True)
class Trace:
    export: LogExport
    username: str | None  # None if the account has since been deleted


class SceneLogService:
    def __init__(self, *, uow: UnitOfWorkFactory, clock: Clock, settings: Settings,
                 keys: KeyStore) -> None:
        self._uow = uow
        self._clock = clock
        self._settings = settings
        self._keys = keys

    # ------------------------------------------------------------ writing

    async def open(self, uow: UnitOfWork, scene: Scene, at: datetime) -> None:
        """Start the log of a scene in which everyone present turned logging on: a fresh
        key in the key store, the members, and the card as entry 0."""
        key = self._keys.create(LOG_KEYS, scene.id)
        present = scene.in_state(ParticipantState.PRESENT)
        log = SceneLog(scene.id, at, at + timedelta(days=self._settings.scene_log_max_days),
                       None)
        await uow.scenelogs.create_log(log, [LogMember(scene.id, p.persona_id, p.account_id,
                                                       p.name) for p in present])
        card = {"card": {"title": scene.card.title, "tags": list(scene.card.tags),
                         "channels": sorted(c.value for c in scene.card.channels)},
                "participants": [p.name for p in present], "at": at.isoformat()}
        await uow.scenelogs.add_entries([_seal(key, scene.id, 0, card)])

    def seal(self, event: SceneEvent) -> SealedEntry:
        key = self._keys.get(LOG_KEYS, event.scene_id)
        if key is None:
            raise RuntimeError("scene log key missing")  # shredded: callers check first
        return _seal(key, event.scene_id, event.seq, {
            "seq": event.seq, "at": event.at.isoformat(), "kind": event.kind,
            "persona_id": event.persona_id, "persona_name": event.persona_name,
            "text": event.text, "tag": event.tag, "to": sorted(event.to)})

    def has_key(self, log_id: str) -> bool:
        return self._keys.get(LOG_KEYS, log_id) is not None

    # ------------------------------------------------------------ shredding

    async def shred(self, log_id: str) -> bool:
        """Destroy the key first (from then on no copy anywhere can be read), then the
        ciphertext. Returns False if there was no key left to destroy."""
        destroyed = self._keys.destroy(LOG_KEYS, log_id)
        async with self._uow() as uow:
            await uow.scenelogs.shred(log_id, self._clock.now())
            await uow.commit()
        return destroyed

    async def check_member(self, account: Account, log_id: str) -> None:
        """Raise not_found unless a persona of this account is in the log."""
        await self._member(account, log_id)

    async def logs_of_persona(self, persona_id: PersonaId) -> list[str]:
        async with self._uow(readonly=True) as uow:
            return await uow.scenelogs.logs_with_persona(persona_id)

    async def forget_persona(self, persona_id: PersonaId) -> None:
        """Once its logs are shredded, a deleted persona's name leaves them too."""
        async with self._uow() as uow:
            await uow.scenelogs.forget_members(persona_id)
            await uow.commit()

    async def purge(self, shred: Callable[[str], Awaitable[object]] | None = None) -> int:
        """Shred logs past their time (through ``shred``, which the scene service wraps
        so that a running scene is told); forget old consent records."""
        now = self._clock.now()
        async with self._uow(readonly=True) as uow:
            due = await uow.scenelogs.due(now)
        for log_id in due:
            await (shred or self.shred)(log_id)
        async with self._uow() as uow:
            await uow.scenelogs.purge_consent(
                now - timedelta(days=self._settings.consent_record_days))
            await uow.commit()
        return len(due)

    # ------------------------------------------------------------ reading

    async def _member(self, account: Account, log_id: str
                      ) -> tuple[SceneLog, LogMember, set[str]]:
        """The log, this account's member entry, and all its personas in the log."""
        async with self._uow(readonly=True) as uow:
            log = await uow.scenelogs.get_log(log_id)
            members = await uow.scenelogs.members(log_id) if log else []
        mine = [m for m in members if m.account_id == account.id]
        if log is None or not mine:
            raise NotFound("no such log")
        return log, mine[0], {m.persona_id for m in mine}

    async def list_for(self, account: Account) -> list[LogSummary]:
        async with self._uow(readonly=True) as uow:
            logs = await uow.scenelogs.logs_of(account.id)
            out = []
            for log in logs:
                members = await uow.scenelogs.members(log.id)
                title = None
                if log.shredded_at is None and self.has_key(log.id):
                    entries = await uow.scenelogs.entries(log.id)
                    first = self._open_entries(log.id, entries[:1])
                    title = str(first[0]["card"]["title"]) if first else None
                out.append(LogSummary(log, members, title))
        return out

    def _open_entries(self, log_id: str, entries: list[SealedEntry]) -> list[dict[str, Any]]:
        key = self._keys.get(LOG_KEYS, log_id)
        if key is None:
            return []
        aead = AESGCM(key)
        out = []
        for e in entries:
            try:
                out.append(orjson.loads(aead.decrypt(e.nonce, e.body, _aad(log_id, e.seq))))
            except InvalidTag:
                continue  # altered on disk: left out rather than shown wrong
        return out

    async def export(self, account: Account, log_id: str, fmt: str) -> Export:
        """A copy of the log for one participant, fingerprinted for this export alone."""
        if fmt not in FORMATS:
            raise InvalidInput("format must be text or html", details={"field": "format"})
        log, me, mine = await self._member(account, log_id)
        async with self._uow(readonly=True) as uow:
            entries = await uow.scenelogs.entries(log_id)
        # Only what reached this participant: a line sent after they left, or on a
        # channel they had not granted, never reached them and is not theirs to export.
        opened = [e for e in self._open_entries(log_id, entries)
                  if "card" in e or mine & set(e.get("to", ()))]
        if log.shredded_at is not None or not opened:
            raise NotFound("this log was shredded: a participant withdrew consent, or its "
                           "time ran out", details={"log": log_id})
        now = self._clock.now()
        export = LogExport(f"x_{secrets.token_hex(8)}", log_id, me.persona_id,
                           me.persona_name, account.id, fmt, now)
        async with self._uow() as uow:
            await uow.scenelogs.add_export(export)
            await uow.commit()
        token = self._token(export.id)
        header, lines = _render_lines(opened, export)
        if fmt == "text":
            body = "\n".join(fingerprint.mark_line(line, token) for line in header + lines)
            return Export(export.id, fmt, f"scene-{log_id}.txt", body + "\n")
        return Export(export.id, fmt, f"scene-{log_id}.html",
                      _html(header, lines, token, export))

    # ------------------------------------------------------------ fingerprints

    def _token(self, export_id: str) -> bytes:
        raw = bytes.fromhex(export_id.removeprefix("x_"))
        key = self._keys.create(FINGERPRINT_KEYS, FINGERPRINT_KEY_ID)
        return raw + hmac.new(key, raw, hashlib.sha256).digest()[:4]

    async def trace(self, text: str) -> list[Trace]:
        """Which exports the text carries fingerprints of. Tokens whose check value does
        not match this server's key are ignored: they were not made here."""
        key = self._keys.get(FINGERPRINT_KEYS, FINGERPRINT_KEY_ID)
        if key is None:
            return []
        out = []
        for token in fingerprint.find(text):
            raw, check = token[:8], token[8:]
            if not hmac.compare_digest(hmac.new(key, raw, hashlib.sha256).digest()[:4], check):
                continue
            async with self._uow(readonly=True) as uow:
                export = await uow.scenelogs.export(f"x_{raw.hex()}")
                account = await uow.accounts.get(export.account_id) if export else None
            if export is not None:
                out.append(Trace(export, account.username if account else None))
        return out


def _aad(log_id: str, seq: int) -> bytes:
    return f"{log_id}:{seq}".encode()


def _seal(key: bytes, log_id: str, seq: int, body: dict[str, Any]) -> SealedEntry:
    nonce = secrets.token_bytes(12)
    return SealedEntry(log_id, seq, nonce,
                       AESGCM(key).encrypt(nonce, orjson.dumps(body), _aad(log_id, seq)))


def _line(entry: dict[str, Any]) -> list[str]:
    """One entry as text lines (a multi-paragraph pose gives several)."""
    at = datetime.fromisoformat(entry["at"]).strftime("%H:%M")
    name, text, kind = entry.get("persona_name") or "", entry.get("text") or "", entry["kind"]
    if kind == "pose":
        line = f"[{at}] {name} {text}"
    elif kind == "ooc":
        line = f"[{at}] (( {name}: {text} ))"
    elif kind == "say":
        line = f"[{at}] {name}: {text}"
    elif text:
        line = f"[{at}] * {text}"
    else:
        return []
    return line.splitlines()


def _render_lines(entries: list[dict[str, Any]], export: LogExport
                  ) -> tuple[list[str], list[str]]:
    card = entries[0].get("card", {}) if entries else {}
    started = entries[0].get("at", "") if entries else ""
    header = [f"Scene log: {card.get('title', '')}",
              f"Participants: {', '.join(entries[0].get('participants', []))}"
              if entries else "Participants:",
              f"Logged from: {started[:16].replace('T', ' ')} UTC",
              f"Exported by {export.persona_name} on "
              f"{export.created_at.strftime('%Y-%m-%d %H:%M')} UTC; export {export.id}",
              "This copy is fingerprinted: a copy passed on can be traced to this export.",
              ""]
    lines = [line for e in entries[1:] for line in _line(e)]
    return header, lines


def _html(header: list[str], lines: list[str], token: bytes, export: LogExport) -> str:
    def para(line: str) -> str:
        return f"<p>{html.escape(fingerprint.mark_line(line, token))}</p>"
    return (
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<meta name=\"tryst-export\" content=\"{export.id}\">"
        f"<title>{html.escape(header[0])}</title>"
        "<style>body{font:1rem/1.5 system-ui,sans-serif;max-width:48rem;margin:2rem auto;"
        "padding:0 1rem}header p{color:#555;margin:.2rem 0}</style></head><body>\n"
        f"<header>{''.join(para(h) for h in header if h)}</header>\n<main>\n"
        + "\n".join(para(line) for line in lines) + "\n</main></body></html>\n")
