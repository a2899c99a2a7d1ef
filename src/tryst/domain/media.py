"""Images: what an upload becomes, where it may be shown and to whom blurred.

Pure rules only. Decoding, hashing and classifying live in ``tryst.media`` and run in a
worker process; the service decides with these functions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from tryst.domain.errors import TrystError
from tryst.domain.text import clean_text
from tryst.ids import AccountId, PersonaId

CAPTION_MAX = 1000
FORMATS = {"JPEG": "image/jpeg", "MPO": "image/jpeg", "PNG": "image/png",
           "WEBP": "image/webp", "GIF": "image/gif"}  # MPO: phone cameras' multi-picture JPEG
"""Formats accepted on upload (by what the bytes are, never by a name or header)."""


class ImageRefused(TrystError):
    """An upload that cannot be used: not an image, too big, corrupt, or its type does
    not match what it claims to be. ``code`` says which."""

    code = "image_invalid"
    status = 422

    def __init__(self, code: str, message: str, *,
                 details: dict[str, object] | None = None, status: int = 422) -> None:
        super().__init__(message, details=details)
        self.code = code
        self.status = status

    def __reduce__(self) -> tuple[object, ...]:
        # Raised in the image worker process and pickled back to the server.
        return (ImageRefused, (self.code, self.message),
                {"details": self.details, "status": self.status})


class ImageBlocked(TrystError):
    """The image matches a hash bank entry. The message is deliberately neutral: it
    neither confirms a bank exists for this image nor says who asked for it."""

    code = "image_blocked"
    status = 422

    def __init__(self) -> None:
        super().__init__("this image cannot be shared on this server")


class Place(StrEnum):
    """Where an image was posted; an image belongs to exactly one line in one place."""

    ROOM = "room"
    CONVERSATION = "conversation"
    SCENE = "scene"


@dataclass(frozen=True, slots=True)
class Processed:
    """What the worker made of an upload: clean pixels re-encoded (no metadata can
    survive a rebuild from pixels), a blurred preview, and the signals to check."""

    image: bytes  # the re-encoded image, what recipients see
    mime: str
    width: int
    height: int
    preview: bytes  # a heavy blur of the image (JPEG), shown until a recipient reveals it
    upload_sha256: str  # of the bytes as uploaded: exact-match hash banks
    pdq: tuple[str, ...]  # the eight dihedral PDQ hashes (hex), identity first
    pdq_quality: int
    explicit: bool
    labels: tuple[tuple[str, float], ...]  # the classifier's findings, for moderators


@dataclass(frozen=True, slots=True)
class Media:
    """An uploaded image and, once posted, the line that carries it."""

    id: str
    account_id: AccountId
    persona_id: PersonaId
    sha256: str  # content address of the clean image in the media store
    preview_sha256: str
    mime: str
    width: int
    height: int
    size: int
    explicit: bool
    created_at: datetime
    place: Place | None = None  # None until posted
    place_id: str | None = None
    seq: int | None = None  # the line's sequence number in its stream
    view_once: bool = False
    expires_at: datetime | None = None  # view-once deadline, or an unposted upload's


@dataclass(frozen=True, slots=True)
class PostImage:
    media_id: str
    room_id: str | None
    conversation_id: str | None
    scene_id: str | None
    caption: str | None
    view_once: bool


@dataclass(frozen=True, slots=True)
class ViewMedia:
    media_id: str
    reveal: bool


MediaCommand = PostImage | ViewMedia
MEDIA_TYPES = (PostImage, ViewMedia)


def validate_caption(raw: str | None) -> str:
    if raw is None:
        return ""
    return clean_text(raw, field="caption", max_chars=CAPTION_MAX, allow_empty=True)


def shown_blurred(explicit: bool, place: Place, *, adult_opt_in: bool,
                  room_is_adult: bool = False) -> bool:
    """Whether a recipient first sees the blurred preview. Only explicit images are
    blurred, and only for someone who has not opted in to explicit images where it was
    posted: in a scene the images grant is the opt-in (it was given for this scene); in
    a room, the room must be rated adult *and* the recipient's persona opted in; in a
    conversation, the persona's own setting decides. Revealing is always one action."""
    if not explicit:
        return False
    if place is Place.SCENE:
        return False
    if place is Place.ROOM:
        return not (room_is_adult and adult_opt_in)
    return not adult_opt_in
