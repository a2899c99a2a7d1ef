"""Typed settings, built once by the command line (or a test) and passed explicitly.
Nothing reads the environment at import time."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path = Path("tryst-data")
    database_url: str | None = None  # default: SQLite file in data_dir
    host: str = "127.0.0.1"
    port: int = 8080
    retention_days: float = 7.0
    max_personas: int = 10
    max_rooms_per_persona: int = 50
    max_connections_per_account: int = 10
    max_message_chars: int = 4000
    max_frame_bytes: int = 16 * 1024  # above: error 'frame_too_large', connection stays open
    hard_frame_bytes: int = 1024 * 1024  # above: the WebSocket is closed with 1009
    message_rate: float = 5.0  # per persona, per second
    message_burst: int = 20
    address_rate: float = 50.0  # HTTP requests and WebSocket commands per address, per second
    address_burst: int = 200
    auth_rate_per_minute: float = 20.0  # sign-up and login attempts per address
    auth_burst: int = 20
    hello_timeout: float = 15.0  # seconds a new WebSocket may take to say hello
    outbox_limit: int = 5000  # events queued for one connection before it is dropped
    session_days: float = 30.0
    conversation_max_days: int = 30  # the longest any conversation may keep its history
    request_cooldown_hours: float = 24.0  # before a request that was not accepted may be re-sent
    request_rate_per_hour: float = 20.0  # new message requests per account
    request_burst: int = 10
    scene_buffer_events: int = 1000  # per scene, in memory, for delivery and resume
    scenes_per_persona: int = 10  # scenes one persona may propose or accept at once
    scene_idle_hours: float = 12.0  # a scene (or proposal) untouched this long is ended
    scene_log_max_days: int = 30  # an agreed scene log is shredded after this many days
    consent_record_days: int = 30  # how long grants and revocations are kept for reports
    franking_rotate_hours: float = 24.0  # a new franking key this often
    franking_keep_days: int = 90  # tags older than this can no longer be verified
    key_dir: Path | None = None  # default: data_dir/keys; keep it out of database backups
    media_dir: Path | None = None  # default: data_dir/media (never a web root)
    max_image_bytes: int = 10 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    image_classifier: str = "nudenet"  # or "off" (every image counts as explicit), module:Class
    image_workers: int = 1  # worker processes that decode, hash and classify uploads
    image_uploads_per_hour: float = 120.0  # per account
    view_once_hours: float = 24.0  # a view-once image not seen by then is deleted anyway
    protect_hashes_per_account: int = 10_000
    reports_per_hour: float = 30.0  # per account
    tags_file: Path | None = None
    safety_file: Path | None = None  # extends or replaces the shipped safety rules
    safety_engine: bool = True  # off only for measuring its cost (bench/safety.py)
    secure_cookies: bool = False
    allowed_origins: tuple[str, ...] = field(default_factory=tuple)
    log_level: str = "info"
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65536

    def resolved_key_dir(self) -> Path:
        return self.key_dir if self.key_dir is not None else self.data_dir / "keys"

    def resolved_media_dir(self) -> Path:
        return self.media_dir if self.media_dir is not None else self.data_dir / "media"

    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'tryst.db').resolve()}"
