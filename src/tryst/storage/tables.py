"""Table definitions (SQLAlchemy Core). The schema itself is created by Alembic migrations;
keep migrations/versions in step with this file."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine import Dialect

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
})


class UTCDateTime(TypeDecorator[datetime]):
    """Stores UTC without zone (SQLite has none) and always hands back aware datetimes."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


accounts = Table(
    "accounts", metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(32), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", String(255), nullable=False),
    Column("age_result", String(16), nullable=False),
    Column("age_method", String(64), nullable=False),
    Column("age_attested_at", UTCDateTime(), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

auth_sessions = Table(
    "auth_sessions", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("client", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
)

personas = Table(
    "personas", metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("name", String(64), nullable=False),
    Column("name_key", String(128), nullable=False, unique=True),
    Column("age", Integer, nullable=False),
    Column("short_description", String(400), nullable=False),
    Column("profile", Text, nullable=False),
    Column("pronouns", String(80), nullable=False),
    Column("interests", JSON, nullable=False),
    Column("hard_limits", JSON, nullable=False),
    Column("adult_content", Boolean, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

rooms = Table(
    "rooms", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(96), nullable=False),
    Column("name_key", String(192), nullable=False, unique=True),
    Column("topic", String(600), nullable=False),
    Column("description", Text, nullable=False),
    Column("visibility", String(16), nullable=False, index=True),
    Column("rating", String(16), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("images", Boolean, nullable=False, server_default="0"),
)

room_members = Table(
    "room_members", metadata,
    Column("room_id", String(32), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           primary_key=True, index=True),
    Column("role", String(16), nullable=False),
    Column("joined_at", UTCDateTime(), nullable=False),
)

room_invites = Table(
    "room_invites", metadata,
    Column("room_id", String(32), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           primary_key=True, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

# No foreign key on persona_id: a deleted persona's public messages stay as "[deleted]".
room_events = Table(
    "room_events", metadata,
    Column("room_id", String(32), ForeignKey("rooms.id", ondelete="CASCADE"), primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("persona_id", String(32), nullable=True),
    Column("persona_name", String(64), nullable=True),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Index("ix_room_events_at", "at"),
    Index("ix_room_events_persona_id", "persona_id"),
)

# ---------------------------------------------------------------- conversations

conversations = Table(
    "conversations", metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("title", String(160), nullable=False),
    Column("created_by", String(32), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("last_seq", BigInteger, nullable=False),
    Column("disappear_seconds", Integer, nullable=True),
)

conversation_members = Table(
    "conversation_members", metadata,
    Column("conversation_id", String(32), ForeignKey("conversations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           primary_key=True, index=True),
    Column("state", String(16), nullable=False),
    Column("invited_by", String(32), nullable=True),
    Column("keep_days", Integer, nullable=False),
    Column("typing", Boolean, nullable=False),
    Column("receipts", Boolean, nullable=False),
    Column("last_read_seq", BigInteger, nullable=False),
    Column("cleared_seq", BigInteger, nullable=False),
    Column("requested_at", UTCDateTime(), nullable=False),
)

# No foreign key on persona_id, as for rooms; erasure deletes a persona's lines here.
conversation_events = Table(
    "conversation_events", metadata,
    Column("conversation_id", String(32), ForeignKey("conversations.id", ondelete="CASCADE"),
           primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("persona_id", String(32), nullable=True),
    Column("persona_name", String(64), nullable=True),
    Column("text", Text, nullable=False),
    Column("data", JSON, nullable=False),
    Column("tag", String(96), nullable=True),  # franking tag (services/franking.py)
    Index("ix_conversation_events_expires_at", "expires_at"),
    Index("ix_conversation_events_persona_id", "persona_id"),
)

# ---------------------------------------------------------------- boundaries

# One row per persona the blocker blocked. persona_id has no foreign key: deleting the
# blocked persona must not lift the block on its account.
blocks = Table(
    "blocks", metadata,
    Column("blocker_account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("persona_id", String(32), primary_key=True),
    Column("persona_name", String(64), nullable=False),
    Column("blocked_account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("created_at", UTCDateTime(), nullable=False),
)

mutes = Table(
    "mutes", metadata,
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           primary_key=True),
    Column("persona_name", String(64), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("until", UTCDateTime(), nullable=False, index=True),
)

persona_boundaries = Table(
    "persona_boundaries", metadata,
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           primary_key=True),
    Column("reach", String(16), nullable=False),
    Column("refuse_limit_conflicts", Boolean, nullable=False),
    Column("auto_reply", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("status_message", String(240), nullable=False),
)

# When two accounts had a block between them (either way): lines written in such a period
# stay hidden from the other side after an unblock. account_a < account_b.
block_periods = Table(
    "block_periods", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("account_a", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("account_b", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("started_at", UTCDateTime(), nullable=False),
    Column("ended_at", UTCDateTime(), nullable=True),
)

# ---------------------------------------------------------------- scenes

# The consent record: one row per grant, renewal or revocation in a scene (append-only,
# kept for a limited time for reports). Scene content is never stored here.
consent_records = Table(
    "consent_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("scene_id", String(32), nullable=False, index=True),
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False),
    Column("channel", String(16), nullable=False),
    Column("action", String(8), nullable=False),
    Column("at", UTCDateTime(), nullable=False, index=True),
    Column("until", UTCDateTime(), nullable=False),
)

# Scene logs exist only when every participant turned logging on. Entries are encrypted
# under a per-log key held in the key store (never in this database): destroying the
# key makes every copy of the entries, backups included, unreadable.
scene_logs = Table(
    "scene_logs", metadata,
    Column("id", String(32), primary_key=True),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("expires_at", UTCDateTime(), nullable=False, index=True),
    Column("shredded_at", UTCDateTime(), nullable=True),
)

scene_log_members = Table(
    "scene_log_members", metadata,
    Column("log_id", String(32), ForeignKey("scene_logs.id", ondelete="CASCADE"),
           primary_key=True),
    Column("persona_id", String(32), primary_key=True),
    Column("account_id", String(32), nullable=False, index=True),
    Column("persona_name", String(64), nullable=False),
)

scene_log_entries = Table(
    "scene_log_entries", metadata,
    Column("log_id", String(32), ForeignKey("scene_logs.id", ondelete="CASCADE"),
           primary_key=True),
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("nonce", LargeBinary(12), nullable=False),
    Column("body", LargeBinary, nullable=False),
)

# Who exported which log when: what `tryst trace` looks a fingerprint up in. Kept after
# the log itself is shredded, so a leaked copy can still be traced.
log_exports = Table(
    "log_exports", metadata,
    Column("id", String(32), primary_key=True),
    Column("log_id", String(32), nullable=False, index=True),
    Column("persona_id", String(32), nullable=False),
    Column("persona_name", String(64), nullable=False),
    Column("account_id", String(32), nullable=False, index=True),
    Column("format", String(8), nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

# ---------------------------------------------------------------- images

# One row per upload. The bytes are in the media store under their SHA-256 (content
# addressed, outside any web root); a row lives as long as the line that carries the
# image (the sweep removes rows whose line is gone, and the bytes with the last row).
media = Table(
    "media", metadata,
    Column("id", String(32), primary_key=True),
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("persona_id", String(32), ForeignKey("personas.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("preview_sha256", String(64), nullable=False, index=True),
    Column("mime", String(16), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size", Integer, nullable=False),
    Column("explicit", Boolean, nullable=False),
    Column("labels", JSON, nullable=False),  # the classifier's findings, for moderators
    Column("pdq", String(64), nullable=True),  # identity PDQ, to re-check against new banks
    Column("pdq_quality", Integer, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("place", String(16), nullable=True),
    Column("place_id", String(32), nullable=True),
    Column("seq", BigInteger, nullable=True),
    Column("view_once", Boolean, nullable=False),
    Column("expires_at", UTCDateTime(), nullable=True, index=True),
    Index("ix_media_place", "place", "place_id", "seq"),
)

# Who an image in a conversation or scene was sent to, and for view-once images when
# each of them viewed it.
media_recipients = Table(
    "media_recipients", metadata,
    Column("media_id", String(32), ForeignKey("media.id", ondelete="CASCADE"),
           primary_key=True),
    Column("persona_id", String(32), primary_key=True),
    Column("viewed_at", UTCDateTime(), nullable=True),
)

# ---------------------------------------------------------------- hash banks

hash_banks = Table(
    "hash_banks", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)

hash_entries = Table(
    "hash_entries", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("bank_id", Integer, ForeignKey("hash_banks.id", ondelete="CASCADE"),
           nullable=False, index=True),
    Column("signal", String(8), nullable=False),
    Column("value", String(64), nullable=False),
    Column("quality", Integer, nullable=True),
    Column("added_at", UTCDateTime(), nullable=False),
    # Who submitted a self-protection hash. No foreign key: deleting the account must
    # not lift the protection it asked for.
    Column("account_id", String(32), nullable=True, index=True),
    Column("note", String(200), nullable=False),
    Index("ix_hash_entries_signal_value", "signal", "value"),
)

# A row per removal of bank entries: each server process rebuilds its in-memory PDQ
# index when it sees a new one (additions are picked up incrementally by entry id).
hash_removals = Table(
    "hash_removals", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime(), nullable=False),
)

# ---------------------------------------------------------------- moderation

moderation_cases = Table(
    "moderation_cases", metadata,
    Column("id", String(32), primary_key=True),
    Column("kind", String(32), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("account_id", String(32), nullable=True, index=True),
    Column("persona_id", String(32), nullable=True),
    Column("summary", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False, index=True),
)

# An account restricted pending review (the safety engine, or later a moderator): it may
# read but not send anything until a moderator lifts the restriction.
account_restrictions = Table(
    "account_restrictions", metadata,
    Column("account_id", String(32), ForeignKey("accounts.id", ondelete="CASCADE"),
           primary_key=True),
    Column("signal", String(32), nullable=False),
    Column("reason", Text, nullable=False),
    Column("case_id", String(32), nullable=True),
    Column("at", UTCDateTime(), nullable=False),
)

# ---------------------------------------------------------------- audit trail

# Append-only and hash-chained (domain/audit.py). Nothing in Tryst updates or deletes
# these rows; `tryst audit verify` detects anyone who did.
audit_log = Table(
    "audit_log", metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=False),
    Column("at", UTCDateTime(), nullable=False),
    Column("actor", String(64), nullable=False),
    Column("action", String(32), nullable=False),
    Column("subject_account", String(32), nullable=True, index=True),
    Column("subject_persona", String(32), nullable=True),
    Column("reason", Text, nullable=False),
    Column("details", JSON, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

# One row: the chain's head. Appending updates it first, which serialises appends (the
# row lock on PostgreSQL; SQLite's write lock) so two entries never share a predecessor.
audit_head = Table(
    "audit_head", metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)
