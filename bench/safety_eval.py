"""Quality of the text safety engine on the labelled evaluation set, in one run.

What is measured
    Every line of tests/data/safety_eval.jsonl (synthetic, written by the Tryst team;
    see tests/data/README.md) is checked with the shipped rules (plus an operator's file
    with --config) and its context. For each signal: precision (of the lines the engine
    gave that signal, the share labelled with it) and recall (of the lines labelled with
    it, the share the engine found), with the counts behind them. Also the false-positive
    rate of the minor signal on lines labelled "none" (ordinary adult chat and roleplay,
    including the false-alarm traps), and of any signal on them.

    For information, the engine's time per message over the set (p50, p99, after a
    warm-up pass), against the same run's time for only preparing the text (Unicode
    normalisation, case folding), the part no rule can avoid; and over 200 messages of
    about 1000 characters (long roleplay posts) made of the set's ordinary scene
    narration ("prose") or of all its ordinary lines, traps included ("dense").
    Timings are for this machine and moment only; the send-path latency target is
    bench/safety.py's.

Targets (exit status 1 when missed)
    minor recall >= 0.95, minor false positives on "none" lines <= 1%,
    coercion recall >= 0.9.

Output
    Exactly one JSON line on stdout; with --errors, each misclassified line on stderr.

Run
    .venv/bin/python bench/safety_eval.py            # ~1 s
    .venv/bin/python bench/safety_eval.py --errors   # and list what it got wrong
This is a benchmark, not a test: pytest never runs it.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from pathlib import Path

from tryst.cli_safety import load_safety_config
from tryst.domain.safety import SEVERITY, Place, SafetyEngine, Signal, context_from_mapping
from tryst.domain.safety.text import prepare

DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "safety_eval.jsonl"
TARGETS = {"minor_recall": 0.95, "minor_fp_rate_on_none": 0.01, "coercion_recall": 0.9}
TIMING_ROUNDS = 20


def load(path: Path) -> list[tuple[str, Signal, dict[str, object]]]:
    """The labelled lines; the first line of the file describes the set and is skipped."""
    rows = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), start=1):
        obj = json.loads(line)
        if "_about" in obj:
            continue
        try:
            rows.append((obj["text"], Signal(obj["label"]), obj.get("context", {})))
        except (KeyError, ValueError) as exc:
            raise SystemExit(f"{path}:{number}: bad line: {exc}") from None
    return rows


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def long_timing(engine: SafetyEngine, lines: list[str], rng: random.Random) -> list[float]:
    """Microseconds per check of 200 messages of ~1000 characters made of ``lines``."""
    texts = []
    for _ in range(200):
        parts: list[str] = []
        while sum(len(p) + 1 for p in parts) < 1000:
            parts.append(rng.choice(lines))
        texts.append(" ".join(parts))
    timings: list[float] = []
    for round_number in range(TIMING_ROUNDS // 2):
        for text in texts:
            start = time.perf_counter_ns()
            engine.check(text)
            if round_number:  # the first round is the warm-up
                timings.append((time.perf_counter_ns() - start) / 1000)
    return timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--config", type=Path, help="an operator's safety file")
    parser.add_argument("--errors", action="store_true",
                        help="print each misclassified line on stderr")
    args = parser.parse_args(argv)

    engine = SafetyEngine(load_safety_config(args.config))
    rows = load(args.data)
    cases = [(text, label, context_from_mapping(ctx)) for text, label, ctx in rows]
    predicted = [engine.check(text, ctx).signal for text, _, ctx in cases]

    pairs = [(p, label) for p, (_, label, _) in zip(predicted, cases, strict=True)]
    per_signal: dict[str, dict[str, object]] = {}
    for signal in SEVERITY[:-1]:
        tp = sum(p is signal and label is signal for p, label in pairs)
        fp = sum(p is signal and label is not signal for p, label in pairs)
        fn = sum(p is not signal and label is signal for p, label in pairs)
        per_signal[signal.value] = {
            "precision": round(tp / (tp + fp), 4) if tp + fp else None,
            "recall": round(tp / (tp + fn), 4) if tp + fn else None,
            "labelled": tp + fn, "flagged": tp + fp, "true_positives": tp}
    none_lines = [p for p, label in pairs if label is Signal.NONE]
    minor_fp_rate = sum(p is Signal.MINOR for p in none_lines) / len(none_lines)
    any_fp_rate = sum(p is not Signal.NONE for p in none_lines) / len(none_lines)

    if args.errors:
        for p, (text, label, ctx) in zip(predicted, cases, strict=True):
            if p is not label:
                print(f"labelled {label.value:13} got {p.value:13} {text!r} {ctx}",
                      file=sys.stderr)

    # Timing: interleave engine and baseline per message so noise hits both alike.
    limit = engine.config.max_chars_examined
    engine_us: list[float] = []
    baseline_us: list[float] = []
    for _ in range(TIMING_ROUNDS):
        for text, _, ctx in cases:
            start = time.perf_counter_ns()
            prepare(text, limit)
            middle = time.perf_counter_ns()
            engine.check(text, ctx)
            end = time.perf_counter_ns()
            baseline_us.append((middle - start) / 1000)
            engine_us.append((end - middle) / 1000)
    warm = len(cases)  # the first pass is the warm-up
    engine_us, baseline_us = engine_us[warm:], baseline_us[warm:]
    # Roleplay posts run long: messages of about 1000 characters, made of the set's
    # ordinary scene narration ("prose"), and of all its ordinary lines ("dense": every
    # false-alarm trap is full of the words the rules look for, so most rules run).
    rng = random.Random(7)
    narration = [text for text, label, ctx in cases
                 if label is Signal.NONE and ctx.place is Place.SCENE]
    ordinary = [text for text, label, _ in cases if label is Signal.NONE]
    long_us = {"prose": long_timing(engine, narration, rng),
               "dense": long_timing(engine, ordinary, rng)}

    minor, coercion = per_signal["minor"], per_signal["coercion"]
    checks = {
        "minor_recall": (minor["recall"] or 0) >= TARGETS["minor_recall"],  # type: ignore[operator]
        "minor_fp_rate_on_none": minor_fp_rate <= TARGETS["minor_fp_rate_on_none"],
        "coercion_recall": (coercion["recall"] or 0) >= TARGETS["coercion_recall"],  # type: ignore[operator]
    }
    result = {
        "benchmark": "safety_eval",
        "lines": len(cases),
        "labels": {s.value: sum(label is s for _, label, _ in cases) for s in SEVERITY},
        "signals": per_signal,
        "minor_fp_rate_on_none": round(minor_fp_rate, 4),
        "any_fp_rate_on_none": round(any_fp_rate, 4),
        "accuracy": round(sum(p is label for p, label in pairs) / len(cases), 4),
        "timing_us": {"engine_p50": round(statistics.median(engine_us), 1),
                      "engine_p99": round(percentile(engine_us, 0.99), 1),
                      "prepare_only_p50": round(statistics.median(baseline_us), 1),
                      "prepare_only_p99": round(percentile(baseline_us, 0.99), 1),
                      **{f"engine_1000_chars_{kind}_{q}": round(
                          statistics.median(values) if q == "p50" else percentile(values, 0.99),
                          1) for kind, values in long_us.items() for q in ("p50", "p99")}},
        "targets": TARGETS,
        "target_checks": checks,
        "target_met": all(checks.values()),
    }
    print(json.dumps(result, separators=(",", ":")), flush=True)
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
