"""`tryst safety check` and `tryst safety config` as an operator uses them: messages in,
one JSON verdict per line out, in input order. Driven through click's CliRunner on the
`safety` group (cli.py registers the group as `tryst safety`)."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner, Result

from tryst.cli_safety import safety


def run(*args: str, stdin: str | None = None) -> Result:
    return CliRunner().invoke(safety, list(args), input=stdin, catch_exceptions=False)


def verdicts(result: Result) -> list[dict[str, object]]:
    assert result.exit_code == 0, result.output
    return [json.loads(line) for line in result.output.splitlines()]


def test_plain_lines_get_one_verdict_each_in_order() -> None:
    out = verdicts(run("check", stdin=(
        "Good morning! How did you sleep?\n"
        "im 15 lol\n"
        "\n"  # blank lines are skipped
        "pics are $10 each, customs $40\n"
        "Send me $500 or I'll send your pics to your family\n")))
    assert [(v["signal"], v["action"], v["rule"]) for v in out] == [
        ("none", "allow", "none"),
        ("minor", "pause_and_restrict", "minor.self_age"),
        ("solicitation", "refuse", "solicitation.price"),
        ("coercion", "restrict", "coercion.sextortion")]
    assert all(set(v) == {"signal", "action", "reason", "rule"} for v in out)
    assert "under 18" in str(out[1]["reason"])


def test_json_lines_carry_context(tmp_path: Path) -> None:
    messages = tmp_path / "messages.jsonl"
    messages.write_text("\n".join([
        json.dumps({"text": "add me on snap"}),
        json.dumps({"text": "add me on snap", "context": {"new_contact": True}}),
        json.dumps({"text": "call me on +44 7700 900123", "context": {"place": "request"}}),
        json.dumps({"text": "hello!", "context": {"new_contact": True,
                                                  "recent_first_contacts": 500}}),
        json.dumps({"text": "i was born in 2010", "context": {"year": 2026}}),
        '{"not": "a message object"}',  # no "text": the line is a message as written
    ]) + "\n", "utf-8")
    out = verdicts(run("check", str(messages)))
    assert [v["rule"] for v in out] == [
        "none", "off_platform.move", "personal_data.phone", "flood.first_contacts",
        "minor.birth_year", "none"]
    assert out[2]["action"] == "warn_sender" and out[3]["action"] == "throttle"


def test_matched_phrases_on_request() -> None:
    out = verdicts(run("check", "--matched", stdin="im 16 lol\n"))
    assert out[0]["matched"] == ["i'm 16"]


def test_profiles_are_checked_with_profile() -> None:
    out = verdicts(run("check", "--profile", stdin="Emma, 15\nCaptain Mara, 34\n"))
    assert [(v["signal"], v["action"], v["rule"]) for v in out] == [
        ("minor", "refuse", "minor.profile_age"), ("none", "allow", "none")]


def test_an_operator_file_extends_the_rules(tmp_path: Path) -> None:
    extension = tmp_path / "safety.json"
    extension.write_text(json.dumps({
        "mode": "extend", "solicitation": {"phrases": ["rosebud special"]},
        "remove": {"off_platform": {"apps": ["snap"]}}}), "utf-8")
    lines = ("ask me about the Rosebud Special\n"
             + json.dumps({"text": "add me on snap", "context": {"new_contact": True}}) + "\n")
    assert [v["rule"] for v in verdicts(run("check", stdin=lines))] == [
        "none", "off_platform.move"]
    assert [v["rule"] for v in verdicts(run("check", "--config", str(extension), stdin=lines))] \
        == ["solicitation.phrase", "none"]


def test_a_malformed_operator_file_stops_with_its_name_and_problem(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"minor": {"phrase": ["x"]}}), "utf-8")
    result = run("check", "--config", str(bad), stdin="hello\n")
    assert result.exit_code == 1
    assert str(bad) in result.output and "minor.phrase is not a known setting" in result.output
    bad.write_text("{not json", "utf-8")
    result = run("check", "--config", str(bad), stdin="hello\n")
    assert result.exit_code == 1 and "cannot read safety file" in result.output


def test_a_bad_context_names_the_line() -> None:
    result = run("check", stdin='hello\n{"text": "hi", "context": {"place": "lobby"}}\n')
    assert result.exit_code == 1
    assert "line 2" in result.output and "place must be one of" in result.output


def test_config_prints_the_rules_in_force(tmp_path: Path) -> None:
    extension = tmp_path / "safety.json"
    extension.write_text(json.dumps({"flood": {"max_first_contacts": 5}}), "utf-8")
    result = run("config", "--config", str(extension))
    assert result.exit_code == 0, result.output
    doc = json.loads(result.output)
    assert doc["mode"] == "replace" and doc["flood"]["max_first_contacts"] == 5
    assert "snap" in doc["off_platform"]["apps"]
    # the printed document is complete: it can be given back as a replacing file
    full = tmp_path / "full.json"
    full.write_text(result.output, "utf-8")
    assert verdicts(run("check", "--config", str(full), stdin=json.dumps(
        {"text": "hi", "context": {"new_contact": True, "recent_first_contacts": 5}}) + "\n")
    )[0]["rule"] == "flood.first_contacts"
