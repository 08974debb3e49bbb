"""Integration test of the eval runner on a six-question dataset over the real session index."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from eval.dataset import load_dataset
from eval.metrics import METRICS
from eval.runner import DEFAULT_DATASET, run_cli
from index.settings import Settings

PICK = ("fact", "number_date", "attribution", "bibliography", "multi_turn", "unanswerable")


@pytest.fixture(scope="module")
def small_dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Six shipped questions, one per category of PICK, written to a temp JSONL."""
    items = load_dataset(DEFAULT_DATASET)
    chosen = [next(i for i in items if i.category == c) for c in PICK]
    path = tmp_path_factory.mktemp("evalset") / "small.jsonl"
    path.write_text("".join(i.model_dump_json() + "\n" for i in chosen), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def run(built_settings: Settings, small_dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """One full run with the baseline: its exit code, output folder and parsed results."""
    out = tmp_path_factory.mktemp("evalout")
    code = run_cli(built_settings, str(small_dataset), str(out), "extractive", False, None, True)
    return {"code": code, "out": out, "results": json.loads((out / "results.json").read_text(encoding="utf-8"))}


def test_results_json_shape(run: dict[str, Any]) -> None:
    """results.json has every key, every metric (ours and baseline), per-question records and the trade-off."""
    r = run["results"]
    assert run["code"] == 0
    assert {"dataset", "generator", "n", "metrics", "by_category", "per_question", "baseline",
            "refusal_tradeoff"} <= set(r)
    assert r["n"] == 6 and r["generator"] == "extractive"
    assert list(r["metrics"]) == list(METRICS)
    assert list(r["baseline"]["metrics"]) == list(METRICS)
    assert set(r["by_category"]) == set(PICK) == set(r["baseline"]["by_category"])
    assert r["by_category"]["unanswerable"]["key_fact_recall"] is None  # no eligible question: null, not 0
    assert r["metrics"]["refusal_accuracy"] is not None
    for m in METRICS:
        value = r["metrics"][m]
        assert value is None or (value >= 0 and (m.endswith("_ms") or m.startswith("answer_words") or value <= 1))


def test_per_question_records(run: dict[str, Any]) -> None:
    """Each record carries the answer, citations with sources, every metric and a latency."""
    for rec in run["results"]["per_question"]:
        assert {"id", "category", "question", "answer", "refused", "citations", "metrics", "latency_ms",
                "evidence_strength"} <= set(rec)
        assert set(METRICS[:11]) == set(rec["metrics"])
        assert rec["latency_ms"] > 0
        for c in rec["citations"]:
            assert {"n", "passage_id", "quote", "sources"} <= set(c) and f"[{c['n']}]" in rec["answer"]


def test_baseline_never_refuses_and_cites_no_works(run: dict[str, Any]) -> None:
    """The naive baseline answers everything and has no source attribution."""
    base = run["results"]["baseline"]["metrics"]
    assert base["refusal_accuracy"] == 0.0 and base["false_refusal_rate"] == 0.0
    assert base["source_attribution_recall"] in (0.0, None)


def test_refusal_tradeoff_grid(run: dict[str, Any]) -> None:
    """Thresholds -0.2..1.0 by 0.02, refusal monotone in the threshold."""
    grid = run["results"]["refusal_tradeoff"]
    assert len(grid) == 61 and grid[0]["threshold"] == -0.2 and grid[-1]["threshold"] == 1.0
    accs = [p["refusal_accuracy"] for p in grid]
    assert accs == sorted(accs)


def test_report_and_plots(run: dict[str, Any]) -> None:
    """report.md exists, links both PNGs, which exist, and compares with the baseline."""
    out: Path = run["out"]
    report = (out / "report.md").read_text(encoding="utf-8")
    for png in ("by_category.png", "refusal_tradeoff.png"):
        assert (out / png).stat().st_size > 1000
        assert f"]({png})" in report
    assert "naive baseline" in report and "key_fact_recall" in report


def test_check_fails_on_impossible_threshold(built_settings: Settings, small_dataset: Path, tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """--check exits 1 and names each metric that fell short, one line each."""
    bounds = tmp_path / "t.toml"
    bounds.write_text("[extractive]\nkey_fact_recall = 1.01\n[extractive.max]\nlatency_p95_ms = 0.001\n")
    code = run_cli(built_settings, str(small_dataset), str(tmp_path / "o"), "extractive", True, str(bounds), False)
    out = capsys.readouterr().out
    assert code == 1
    assert any(line.startswith("FAIL key_fact_recall ") and line.endswith("< 1.01") for line in out.splitlines())
    assert any(line.startswith("FAIL latency_p95_ms ") for line in out.splitlines())


def test_check_passes_on_lenient_threshold(built_settings: Settings, small_dataset: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """--check exits 0 when every metric meets a lenient file."""
    bounds = tmp_path / "t.toml"
    bounds.write_text("[extractive]\nkey_fact_recall = 0.0\ncitation_precision = 0.0\n"
                      "[extractive.max]\nlatency_p95_ms = 600000\nfalse_refusal_rate = 1.0\n")
    code = run_cli(built_settings, str(small_dataset), str(tmp_path / "o"), "extractive", True, str(bounds), False)
    assert code == 0
    assert "FAIL" not in capsys.readouterr().out


def test_bad_dataset_is_a_usage_error(built_settings: Settings, tmp_path: Path) -> None:
    """A dataset line off the schema: exit 2 before anything runs."""
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x"}\n')
    assert run_cli(built_settings, str(bad), str(tmp_path / "o"), "extractive", False, None, False) == 2


def test_cited_source_naming_no_work_is_a_usage_error(built_settings: Settings, small_dataset: Path, tmp_path: Path,
                                                       capsys: pytest.CaptureFixture[str]) -> None:
    """A cited-source label that answers to no bibliography entry ('Weits 2018') is rejected in one line, before
    any question runs; the shipped sets' labels all resolve (the metric would count them as misses otherwise)."""
    item = load_dataset(small_dataset)[0].model_copy(update={"cited_sources": ["Weits 2018"]})
    bad = tmp_path / "typo.jsonl"
    bad.write_text(item.model_dump_json() + "\n", encoding="utf-8")
    out = tmp_path / "o"
    assert run_cli(built_settings, str(bad), str(out), "extractive", False, None, False) == 2
    err = capsys.readouterr().err
    assert "'Weits 2018' names no work of the bibliography" in err and len(err.strip().splitlines()) == 1
    assert not (out / "results.json").exists()
