"""The eval runner behind `csto-qa eval`: ask every question, score it, compare with the naive baseline, gate."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import tomllib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from tqdm import tqdm

from eval.dataset import DatasetError, EvalItem, load_dataset
from eval.metrics import METRICS, aggregate, by_category, refusal_tradeoff, score_question, source_matches
from index import offline
from index.errors import InvalidQuestionError
from index.settings import Settings
from rag.types import Answer, SourceRef

DEFAULT_DATASET = Path(__file__).resolve().parent / "sets" / "dataset.jsonl"
DEFAULT_THRESHOLDS = Path(__file__).resolve().parent / "thresholds.toml"
TRADEOFF_THRESHOLDS: list[float] = [round(float(t), 2) + 0.0 for t in np.arange(-0.2, 1.0 + 1e-9, 0.02)]
EXIT_FAIL = 1
EXIT_USAGE = 2

History = list[dict[str, str]] | None


class ThresholdsError(ValueError):
    """The thresholds file is missing, unreadable or names an unknown metric."""


def _history(item: EvalItem) -> History:
    """The item's earlier turns as [{role, content}], or None."""
    return [t.model_dump() for t in item.history] or None


def _ask_timed(assistant: Any, item: EvalItem, generator: str) -> tuple[Answer, float]:
    """The answer and the wall time of `ask` in ms (an invalid question counts as a refusal)."""
    t0 = time.perf_counter()
    try:
        answer = assistant.ask(item.question, _history(item), generator=generator)
    except InvalidQuestionError as exc:
        answer = Answer(question=item.question, text="", refused=True, notice=str(exc))
    return answer, (time.perf_counter() - t0) * 1000


def _record(item: EvalItem, answer: Answer, retrieved: Sequence[str], latency_ms: float) -> dict[str, Any]:
    """The per-question record of results.json."""
    scored = score_question(item, answer, retrieved)
    return {
        "id": item.id,
        "category": item.category,
        "question": item.question,
        "answerable": item.answerable,
        "answer": answer.text,
        "refused": answer.refused,
        "citations": [
            {"n": c.n, "passage_id": c.passage_id, "quote": c.quote, "sources": [s.label for s in c.sources]}
            for c in answer.citations
        ],
        **scored,
        "latency_ms": round(latency_ms, 2),
    }


def run_pipeline(assistant: Any, items: Sequence[EvalItem], generator: str) -> list[dict[str, Any]]:
    """Ask, retrieve and score every question with our pipeline."""
    records = []
    for item in tqdm(items, desc="eval", unit="q", file=sys.stderr):
        answer, latency = _ask_timed(assistant, item, generator)
        try:
            retrieved = [sp.passage.text for sp in assistant.retrieve(item.question, _history(item))]
        except InvalidQuestionError:
            retrieved = []
        record = _record(item, answer, retrieved, latency)
        record["evidence_strength"] = round(answer.evidence_strength, 4)
        record["checks_failed"] = answer.checks_failed
        records.append(record)
    return records


def run_baseline(settings: Settings, items: Sequence[EvalItem]) -> list[dict[str, Any]]:
    """Answer and score every question with the naive llama-index baseline (built in a temp dir)."""
    from eval.baseline import NaiveBaseline

    records = []
    with tempfile.TemporaryDirectory(prefix="csto-qa-baseline-") as tmp:
        baseline = NaiveBaseline(settings, Path(tmp))
        for item in tqdm(items, desc="baseline", unit="q", file=sys.stderr):
            t0 = time.perf_counter()
            hits = baseline.retrieve(item.question)
            answer = baseline.answer(item.question, hits)
            latency = (time.perf_counter() - t0) * 1000
            records.append(_record(item, answer, [h.node.get_content() for h in hits], latency))
    return records


def tradeoff(records: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Refusal accuracy and false refusal rate per threshold, from the recorded evidence strengths (a question whose
    answer failed the assistant's checks is refused at every threshold)."""
    return refusal_tradeoff(
        [(r["evidence_strength"], r["answerable"], bool(r.get("checks_failed"))) for r in records], TRADEOFF_THRESHOLDS
    )


def evaluate(
    settings: Settings, items: Sequence[EvalItem], dataset: str, generator: str, baseline: bool
) -> dict[str, Any]:
    """The whole results.json object. Raises DatasetError, before any question runs, when a cited-source label
    names no work of the bibliography."""
    from rag.api import Assistant

    assistant = Assistant.from_settings(settings)
    works = [SourceRef.from_entry(e) for e in assistant.handle.entries.values()]
    for item in items:  # a label no work answers to would count as a miss on every answer
        for label in item.cited_sources:
            if not any(source_matches(label, w) for w in works):
                raise DatasetError(f"{dataset}: {item.id}: cited source {label!r} names no work of the bibliography")
    records = run_pipeline(assistant, items, generator)
    results: dict[str, Any] = {
        "dataset": dataset,
        "generator": generator,
        "n": len(records),
        "metrics": aggregate(records),
        "by_category": by_category(records),
        "per_question": records,
        "baseline": None,
        "refusal_tradeoff": tradeoff(records),
        "refusal_threshold": assistant.answerability.threshold,
    }
    if baseline:
        base = run_baseline(settings, items)
        results["baseline"] = {"metrics": aggregate(base), "by_category": by_category(base)}
    return results


def load_thresholds(path: Path, generator: str) -> tuple[dict[str, float], dict[str, float]]:
    """(minimums, maximums) for the generator from the TOML file: `[gen]` and `[gen.max]`."""
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ThresholdsError(f"cannot read thresholds {path}: {exc}") from exc
    table = data.get(generator)
    if not isinstance(table, dict):
        raise ThresholdsError(f"{path} has no [{generator}] table")
    upper = table.get("max", {})
    lower = {k: v for k, v in table.items() if k != "max"}
    for name, value in [*lower.items(), *upper.items()]:
        if name not in METRICS or not isinstance(value, int | float):
            raise ThresholdsError(f"{path}: [{generator}] {name} is not a known metric with a number")
    return {k: float(v) for k, v in lower.items()}, {k: float(v) for k, v in upper.items()}


def check_thresholds(
    metrics: dict[str, float | None], minimums: dict[str, float], maximums: dict[str, float]
) -> list[str]:
    """One 'FAIL metric value < minimum' line per metric that fell short (a null metric fails too)."""
    failures = []
    for name, bound in minimums.items():
        value = metrics.get(name)
        if value is None or value < bound:
            failures.append(f"FAIL {name} {_fmt(value)} < {_fmt(bound)}")
    for name, bound in maximums.items():
        value = metrics.get(name)
        if value is None or value > bound:
            failures.append(f"FAIL {name} {_fmt(value)} > {_fmt(bound)}")
    return failures


def _fmt(value: float | None) -> str:
    """Two decimals, or n/a."""
    return "n/a" if value is None else f"{value:.2f}"


def write_results(results: dict[str, Any], out_dir: Path) -> Path:
    """Write results.json (and report.md with its plots) into out_dir; return the report path."""
    from eval.report import write_report

    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, ensure_ascii=False), encoding="utf-8")
    return write_report(results, out_dir)


def run_cli(
    settings: Settings,
    dataset: str | None,
    out: str,
    generator: str,
    check: bool,
    thresholds: str | None,
    baseline: bool,
) -> int:
    """`csto-qa eval`: run, write DIR/results.json and DIR/report.md, print the summary, gate when asked."""
    from eval.report import summary_table

    offline.configure_llama_index()
    path = Path(dataset) if dataset else DEFAULT_DATASET
    try:
        items = load_dataset(path)
        bounds = load_thresholds(Path(thresholds) if thresholds else DEFAULT_THRESHOLDS, generator) if check else None
    except (DatasetError, ThresholdsError, OSError) as exc:
        print(f"csto-qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        results = evaluate(settings, items, str(path), generator, baseline)
    except DatasetError as exc:
        print(f"csto-qa: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    report = write_results(results, Path(out))
    print(summary_table(results))
    print(f"\nwrote {Path(out) / 'results.json'} and {report}")
    if bounds is None:
        return 0
    failures = check_thresholds(results["metrics"], *bounds)
    for line in failures:
        print(line)
    if not failures:
        print(f"PASS all {len(bounds[0]) + len(bounds[1])} thresholds")
    return EXIT_FAIL if failures else 0


__all__ = ["check_thresholds", "evaluate", "load_thresholds", "run_cli"]
