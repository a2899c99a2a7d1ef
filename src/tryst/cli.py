"""The `tryst` command: serve, migrate, trace, admin, protect, banks."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
import uvicorn

from tryst import __version__
from tryst.config import Settings
from tryst.domain.errors import TrystError

# (option name, Settings field, type, help). Every option also reads TRYST_<FIELD>.
_SERVE_OPTIONS: list[tuple[str, str, Any, str]] = [
    ("--host", "host", str, "Address to listen on."),
    ("--port", "port", click.IntRange(0, 65535), "Port for HTTP and WebSocket."),
    ("--retention-days", "retention_days", click.FloatRange(min=0, min_open=True),
     "How long room history is kept, in every room; older events are deleted."),
    ("--max-personas", "max_personas", click.IntRange(1), "Personas per account."),
    ("--max-rooms-per-persona", "max_rooms_per_persona", click.IntRange(1),
     "Rooms one persona can be in."),
    ("--max-connections-per-account", "max_connections_per_account", click.IntRange(1),
     "Simultaneous WebSocket connections per account."),
    ("--max-message-chars", "max_message_chars", click.IntRange(1, 100_000),
     "Longest message, in characters."),
    ("--max-frame-bytes", "max_frame_bytes", click.IntRange(256),
     "Largest WebSocket frame answered with an error (the connection stays open)."),
    ("--hard-frame-bytes", "hard_frame_bytes", click.IntRange(1024),
     "Largest WebSocket frame at all; larger ones close the connection (1009)."),
    ("--message-rate", "message_rate", click.FloatRange(min=0, min_open=True),
     "Messages per second per persona (sustained)."),
    ("--message-burst", "message_burst", click.IntRange(1), "Message burst per persona."),
    ("--address-rate", "address_rate", click.FloatRange(min=0, min_open=True),
     "API requests and WebSocket commands per second per client address."),
    ("--address-burst", "address_burst", click.IntRange(1), "Burst per client address."),
    ("--auth-rate-per-minute", "auth_rate_per_minute", click.FloatRange(min=0, min_open=True),
     "Sign-up, login and password attempts per minute per address."),
    ("--auth-burst", "auth_burst", click.IntRange(1), "Burst of sign-in attempts per address."),
    ("--hello-timeout", "hello_timeout", click.FloatRange(min=0, min_open=True),
     "Seconds a new WebSocket connection may take to send hello."),
    ("--outbox-limit", "outbox_limit", click.IntRange(10),
     "Events queued for one connection before it is dropped as too slow."),
    ("--session-days", "session_days", click.FloatRange(min=0, min_open=True),
     "Lifetime of a login session."),
    ("--conversation-max-days", "conversation_max_days", click.IntRange(1, 3650),
     "The longest any conversation may keep its history (members may choose less)."),
    ("--request-cooldown-hours", "request_cooldown_hours", click.FloatRange(min=0),
     "Time before a message request that was not accepted may be sent again."),
    ("--request-rate-per-hour", "request_rate_per_hour", click.FloatRange(min=0,
                                                                          min_open=True),
     "New message requests (first contacts) an account may send per hour."),
    ("--request-burst", "request_burst", click.IntRange(1),
     "New message requests an account may send at once before the hourly rate applies."),
    ("--scene-buffer-events", "scene_buffer_events", click.IntRange(10, 100_000),
     "Events each scene keeps in memory for delivery and resume (never on disk)."),
    ("--scenes-per-persona", "scenes_per_persona", click.IntRange(1, 100),
     "Scenes one persona may propose or take part in at once."),
    ("--scene-idle-hours", "scene_idle_hours", click.FloatRange(min=0, min_open=True),
     "A scene or proposal nobody has touched for this long is ended."),
    ("--scene-log-max-days", "scene_log_max_days", click.IntRange(1, 3650),
     "An agreed scene log is shredded after this many days."),
    ("--consent-record-days", "consent_record_days", click.IntRange(0, 3650),
     "How long the record of grants and revocations is kept (for reports)."),
    ("--franking-rotate-hours", "franking_rotate_hours", click.FloatRange(min=1),
     "How often the key behind message tags rotates."),
    ("--franking-keep-days", "franking_keep_days", click.IntRange(1, 3650),
     "How long message tags stay verifiable (reports must come sooner)."),
    ("--media-dir", "media_dir", click.Path(file_okay=False, path_type=Path),
     "Where image files live (default: DATA_DIR/media). Never serve it directly."),
    ("--max-image-bytes", "max_image_bytes", click.IntRange(1024, 200 * 1024 * 1024),
     "Largest image upload, in bytes."),
    ("--max-image-pixels", "max_image_pixels", click.IntRange(1, 400_000_000),
     "Largest image, in pixels (width x height)."),
    ("--image-classifier", "image_classifier", str,
     "nudenet, off (every image counts as explicit and is blurred), or module:Class."),
    ("--image-workers", "image_workers", click.IntRange(1, 64),
     "Processes that decode, hash and classify uploads."),
    ("--image-uploads-per-hour", "image_uploads_per_hour",
     click.FloatRange(min=0, min_open=True), "Image uploads per account per hour."),
    ("--view-once-hours", "view_once_hours", click.FloatRange(min=0, min_open=True),
     "A view-once image is deleted after this long even if not everyone has seen it."),
    ("--protect-hashes-per-account", "protect_hashes_per_account", click.IntRange(0),
     "How many hashes one account may submit to protect its own images."),
    ("--reports-per-hour", "reports_per_hour", click.FloatRange(min=0, min_open=True),
     "Reports an account may file per hour."),
    ("--safety-file", "safety_file",
     click.Path(exists=True, dir_okay=False, path_type=Path),
     "JSON file extending or replacing the safety rules' word lists (docs/safety.md)."),
    ("--tags-file", "tags_file", click.Path(exists=True, dir_okay=False, path_type=Path),
     "JSON file extending or replacing the tag vocabulary (docs/operations.md)."),
    ("--secure-cookies/--no-secure-cookies", "secure_cookies", None,
     "Mark session cookies Secure (turn on behind HTTPS)."),
    ("--allowed-origin", "allowed_origins", str,
     "Extra web origin allowed to use cookies and the WebSocket (repeatable)."),
    ("--log-level", "log_level",
     click.Choice(["debug", "info", "warning", "error"]), "Log verbosity."),
]

_DB_OPTIONS: list[tuple[str, str, Any, str]] = [
    ("--data-dir", "data_dir", click.Path(file_okay=False, path_type=Path),
     "Where the embedded SQLite database lives (created on first run)."),
    ("--database-url", "database_url", str,
     "SQLAlchemy URL, e.g. postgresql+asyncpg://user@host/db (default: SQLite in data dir)."),
    ("--key-dir", "key_dir", click.Path(file_okay=False, path_type=Path),
     "Where scene-log, franking and fingerprint keys live (default: DATA_DIR/keys). "
     "Keep it out of database backups."),
]


def _env_name(field: str) -> str:
    return "TRYST_" + field.upper()


def _settings_options(table: list[tuple[str, str, Any, str]]) -> Callable[[Any], Any]:
    defaults = Settings()

    def decorate(fn: Any) -> Any:
        for flag, field, kind, help_text in reversed(table):
            default = getattr(defaults, field)
            extra: dict[str, Any] = {}
            if field == "allowed_origins":
                extra = {"multiple": True, "default": ()}
            elif kind is None:
                extra = {"default": default}
            else:
                extra = {"type": kind, "default": default}
            fn = click.option(flag, field, envvar=_env_name(field), show_envvar=True,
                              show_default=field != "allowed_origins", help=help_text,
                              **extra)(fn)
        return fn

    return decorate


def _settings(values: dict[str, Any]) -> Settings:
    fields = {k: v for k, v in values.items() if v is not None or k == "database_url"}
    if "allowed_origins" in fields:
        fields["allowed_origins"] = tuple(fields["allowed_origins"])
    return Settings(**fields)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="tryst")
def main() -> None:
    """Tryst: a self-hostable server for adults who meet online.
    Consent first, private by default."""


@main.command()
@_settings_options(_DB_OPTIONS + _SERVE_OPTIONS)
def serve(**values: Any) -> None:
    """Run Tryst: HTTP API, WebSocket and web page, in one process.

    With no options it keeps its data in ./tryst-data (SQLite) and listens on
    http://127.0.0.1:8080. Stop it with Ctrl-C or SIGTERM: commands in progress finish,
    and connected clients receive a close frame.
    """
    from tryst.app import build, server_config

    settings = _settings(values)
    logging.basicConfig(level=settings.log_level.upper(),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        tryst = build(settings)
    except TrystError as exc:
        raise click.ClickException(exc.message) from None
    server = _GracefulServer(server_config(tryst))
    click.echo(f"Tryst {__version__} on http://{settings.host}:{settings.port}/ "
               f"(API docs at /docs)", err=True)
    server.run()
    if not server.started:
        sys.exit(1)


class _GracefulServer(uvicorn.Server):
    """uvicorn re-raises SIGTERM/SIGINT after its graceful shutdown, so the process ends
    "killed by signal". A shutdown that finished cleanly should exit 0 instead, so
    service managers and scripts can tell it apart from a crash."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        handled = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in handled}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


@main.command()
@_settings_options(_DB_OPTIONS)
def migrate(**values: Any) -> None:
    """Apply database migrations (tryst serve also does this at start)."""
    from tryst.storage import migrate as migrations
    from tryst.storage.database import create_engine

    settings = _settings(values)

    async def run() -> str | None:
        engine = create_engine(settings.resolved_database_url())
        try:
            await migrations.upgrade(engine)
            return await migrations.current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(run())
    click.echo(f"database is at revision {revision}")


@main.command()
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@_settings_options(_DB_OPTIONS)
def trace(file: Path, **values: Any) -> None:
    """Tell which export a leaked copy of a scene log came from (who exported it, when).

    Reads FILE (a text or HTML export, or any text pasted from one) and prints one JSON
    line per export whose fingerprint it carries. Exits with 1 if it finds none."""
    import json

    from tryst.app import build
    from tryst.storage import migrate as migrations

    settings = _settings(values)
    text = file.read_bytes().decode("utf-8", errors="replace")

    async def run() -> list[dict[str, Any]]:
        tryst = build(settings)
        try:
            await migrations.upgrade(tryst.engine)
            found = await tryst.private.scenes.logs.trace(text)
        finally:
            await tryst.engine.dispose()
        return [{"export": t.export.id, "log": t.export.log_id,
                 "persona": {"id": t.export.persona_id, "name": t.export.persona_name},
                 "account": {"id": t.export.account_id, "username": t.username},
                 "format": t.export.format, "exported_at": t.export.created_at.isoformat()}
                for t in found]

    found = asyncio.run(run())
    for line in found:
        click.echo(json.dumps(line))
    if not found:
        click.echo("no fingerprint from this server was found in that file", err=True)
        sys.exit(1)


@main.group()
def admin() -> None:
    """Operator tasks."""


@admin.command("create-operator")
@click.argument("username")
@_settings_options(_DB_OPTIONS)
@click.option("--password", prompt=True, hide_input=True, confirmation_prompt=True,
              envvar="TRYST_OPERATOR_PASSWORD", show_envvar=True,
              help="Password (asked for if not given).")
@click.option("--confirm-adult", is_flag=True, prompt="Do you confirm you are 18 or older?",
              help="Confirm the operator is 18 or older.")
def create_operator(username: str, password: str, confirm_adult: bool, **values: Any) -> None:
    """Create an operator account USERNAME (full moderation rights, sees persona owners)."""
    from tryst.app import build
    from tryst.domain.accounts import AgeEvidence, Role
    from tryst.storage import migrate as migrations

    settings = _settings(values)

    async def run() -> str:
        tryst = build(settings)
        try:
            await migrations.upgrade(tryst.engine)
            account, _ = await tryst.accounts.register(
                username, password, AgeEvidence(confirm_adult=confirm_adult, extra={}),
                client="cli", role=Role.OPERATOR)
            return account.username
        finally:
            await tryst.engine.dispose()

    try:
        name = asyncio.run(run())
    except TrystError as exc:
        raise click.ClickException(exc.message) from None
    click.echo(f"operator account {name!r} created")


def _register_image_commands() -> None:
    from tryst.cli_images import make_banks_group, protect
    from tryst.cli_mod import make_groups
    from tryst.cli_safety import safety

    main.add_command(protect)
    main.add_command(make_banks_group(_settings_options(_DB_OPTIONS), _settings), "banks")
    main.add_command(safety)
    for group in make_groups(_settings_options(_DB_OPTIONS), _settings):
        main.add_command(group)


_register_image_commands()
