"""`tryst safety`: operators check messages against the text safety rules and see the
configuration in force. Also the one place that reads the rules' configuration files
(the shipped ``data/safety.json`` and an operator's extension), for the server too."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import IO, Any

import click

from tryst.domain.errors import InvalidInput, TrystError
from tryst.domain.safety import (
    ALLOW,
    Context,
    SafetyConfig,
    SafetyEngine,
    config_from_document,
    context_from_mapping,
)


def shipped_document() -> dict[str, Any]:
    """The configuration document shipped with Tryst (``tryst/data/safety.json``)."""
    text = resources.files("tryst").joinpath("data/safety.json").read_text("utf-8")
    doc = json.loads(text)
    assert isinstance(doc, dict)
    return doc


def load_safety_config(operator_file: Path | None = None) -> SafetyConfig:
    """The shipped configuration, extended or replaced by the operator's file (its
    ``"mode"``: ``"extend"``, the default, or ``"replace"``). A malformed file raises
    InvalidInput naming the file and the problem."""
    shipped = config_from_document(shipped_document())
    if operator_file is None:
        return shipped
    try:
        doc = json.loads(operator_file.read_text("utf-8"))
    except (OSError, ValueError) as exc:
        raise InvalidInput(f"cannot read safety file {operator_file}: {exc}") from None
    if not isinstance(doc, dict):
        raise InvalidInput(f"{operator_file}: the safety file must hold a JSON object")
    try:
        return config_from_document(doc, shipped)
    except InvalidInput as exc:
        raise InvalidInput(f"{operator_file}: {exc.message}") from None


def _engine(config_file: Path | None) -> SafetyEngine:
    try:
        return SafetyEngine(load_safety_config(config_file))
    except TrystError as exc:
        raise click.ClickException(exc.message) from None


def _parse(line: str, number: int, year: int) -> tuple[str, Context]:
    """A plain message, or a JSON object {"text": ..., "context": {...}}."""
    if line.lstrip().startswith("{"):
        try:
            obj = json.loads(line)
        except ValueError:
            obj = None
        if isinstance(obj, dict) and "text" in obj:
            text, raw = obj["text"], obj.get("context", {})
            if not isinstance(text, str) or not isinstance(raw, dict):
                raise click.ClickException(
                    f"line {number}: \"text\" must be a string and \"context\" an object")
            try:
                context = context_from_mapping({"year": year, **raw})
            except TrystError as exc:
                raise click.ClickException(f"line {number}: {exc.message}") from None
            return text, context
    return line, Context(year=year)


config_option = click.option(
    "--config", "config_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
    envvar="TRYST_SAFETY_FILE", show_envvar=True,
    help="An operator's safety file extending (or replacing) the shipped rules.")


@click.group()
def safety() -> None:
    """The text safety rules: check messages against them, see their configuration."""


@safety.command("check")
@click.argument("file", type=click.File("r", encoding="utf-8"), default="-")
@config_option
@click.option("--profile", is_flag=True,
              help="Check each line as a persona name or profile instead of a message.")
@click.option("--matched", is_flag=True, help="Also print the phrases that made a rule fire.")
def check(file: IO[str], config_file: Path | None, profile: bool, matched: bool) -> None:
    """Print the verdict for each message in FILE (or standard input) as a JSON line, in
    input order: signal, action, reason, rule.

    Each line is a message, or a JSON object {"text": "...", "context": {...}} whose
    context may say "new_contact": true, "place": "room" | "conversation" | "request" |
    "scene", "recent_first_contacts": N, "year": YYYY (default: this year). Blank lines
    are skipped."""
    engine = _engine(config_file)
    year = datetime.now(UTC).year
    for number, raw in enumerate(file, start=1):
        line = raw.rstrip("\r\n")
        if not line.strip():
            continue
        text, context = _parse(line, number, year)
        verdict = (engine.check_profile(text) or ALLOW) if profile \
            else engine.check(text, context)
        out = verdict.to_dict()
        if not matched:
            del out["matched"]
        click.echo(json.dumps(out, ensure_ascii=False))


@safety.command("config")
@config_option
def show_config(config_file: Path | None) -> None:
    """Print the configuration in force (shipped rules plus the operator's file) as one
    complete JSON document."""
    click.echo(json.dumps(_engine(config_file).config.to_document(), indent=2,
                          ensure_ascii=False))
