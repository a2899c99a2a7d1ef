"""Message franking: a server tag on every delivered conversation and scene message, so
a participant can later prove to the server what they were sent, without the server
having kept it.

The tag is an HMAC-SHA256 over the sender, stream, sequence number, time and text
under a key that rotates every ``rotate_hours``. Keys are in the key store, never in
the database, and are destroyed after ``keep_days``: from then on those tags can no
longer be verified (reports must come sooner)."""

from __future__ import annotations

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson

from tryst.ports import KeyStore

NAMESPACE = "franking"
VERSION = "f1"


@dataclass(frozen=True, slots=True)
class FrankedMessage:
    """A message as a client holds it: exactly the fields the server sent."""

    sender: str  # persona id
    stream: str
    seq: int
    at: str  # the ``at`` string as delivered
    text: str
    tag: str


def _canonical(sender: str, stream: str, seq: int, at: str, text: str) -> bytes:
    return orjson.dumps([VERSION, sender, stream, seq, at, text])


class Franker:
    def __init__(self, keys: KeyStore, *, rotate_hours: float, keep_days: float) -> None:
        self._keys = keys
        self._period = max(60.0, rotate_hours * 3600)
        self._keep = timedelta(days=keep_days)

    def _key_id(self, at: datetime) -> str:
        return str(int(at.timestamp() // self._period))

    def tag(self, sender: str, stream: str, seq: int, at: datetime, text: str) -> str:
        """The tag for a message being delivered now (``at`` is its event time)."""
        key_id = self._key_id(at)
        key = self._keys.get(NAMESPACE, key_id) or self._keys.create(NAMESPACE, key_id)
        mac = hmac.new(key, _canonical(sender, stream, seq, at.isoformat(), text),
                       hashlib.sha256).digest()
        return f"{VERSION}.{key_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"

    def verify(self, message: FrankedMessage) -> bool:
        """True only if the server tagged exactly this message, with a key it still has.
        Never creates a key, and takes the same time whichever byte is wrong."""
        try:
            version, key_id, _ = message.tag.split(".", 2)
            at = datetime.fromisoformat(message.at)
        except ValueError:
            return False
        if version != VERSION or at.tzinfo is None or key_id != self._key_id(at):
            return False
        key = self._keys.get(NAMESPACE, key_id)
        if key is None:
            return False
        mac = hmac.new(key, _canonical(message.sender, message.stream, message.seq,
                                       message.at, message.text), hashlib.sha256).digest()
        expected = f"{VERSION}.{key_id}.{base64.urlsafe_b64encode(mac).decode().rstrip('=')}"
        return hmac.compare_digest(expected.encode(), message.tag.encode())

    def expire(self, now: datetime) -> int:
        """Destroy keys whose whole period ended more than ``keep_days`` ago."""
        cutoff = int((now - self._keep).timestamp() // self._period)
        gone = 0
        for key_id in self._keys.ids(NAMESPACE):
            if key_id.isdigit() and int(key_id) < cutoff:
                gone += self._keys.destroy(NAMESPACE, key_id)
        return gone


