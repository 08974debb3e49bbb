"""`csto-qa eval --all`: every set of eval/sets.toml through one Assistant, one combined report.

Writes OUT/combined.json (per set: role, n, metrics, per-category metrics; pooled dev and blind rows; the naive
baseline on the gated set and the first blind set), OUT/combined.md (one table, a row per set) and one plot per
metric across sets (OUT/plots/). Each set's full report goes to OUT/<set>/ as `csto-qa eval` writes it. Blind
sets are meant to be read only through these aggregates.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from eval.dataset import load_dataset
from eval.metrics import LEAD_OUTCOMES, LOWER_IS_BETTER, METRICS, aggregate, by_category, lead_outcomes
from eval.runner import run_baseline, run_pipeline, write_results
from eval.sets import EvalSet, eval_sets
from eval.targets import GAP_SETS, gap_table, gaps, intervals, targets_table
from index import offline
from index.settings import Settings

# every metric but the ranking depth, the pooled citation recall and latency (those are in each set's own report)
COLUMNS = tuple(m for m in METRICS if m not in {"mrr", "citation_recall", "latency_p50_ms", "latency_p95_ms"})
SHORT = {
    "retrieval_recall_at_5": "recall@5",
    "evidence_hit": "evidence",
    "key_fact_recall": "key facts",
    "citation_precision": "cit. prec.",
    "source_attribution_recall": "sources",
    "refusal_accuracy": "refusal",
    "false_refusal_rate": "false ref.",
    "lead_hit": "lead",
    "sentence_precision": "precision",
    "answer_words_p50": "words p50",
    "answer_words_p90": "words p90",
}
BASELINE_SETS = ("dataset", "blind-users")


def run_all(settings: Settings, out: Path, baseline: bool = True) -> dict[str, Any]:
    """Evaluate every listed set; write and return the combined results."""
    from rag.api import Assistant

    offline.configure_llama_index()
    assistant = Assistant.from_settings(settings)
    rows: list[dict[str, Any]] = []
    pooled: dict[str, list[dict[str, Any]]] = {"dev": [], "blind": []}
    kept: dict[str, list[dict[str, Any]]] = {}
    for s in eval_sets():
        records = run_pipeline(assistant, load_dataset(s.path), settings.generator)
        if s.name in GAP_SETS:
            kept[s.name] = records
        if not s.derived_from:  # its questions are another set's already pooled
            pooled[s.role] += records
        result = _result(s, records)
        if baseline and s.name in BASELINE_SETS:
            base = run_baseline(settings, load_dataset(s.path))
            result["baseline"] = {"metrics": aggregate(base), "by_category": by_category(base)}
        write_results({**result, "per_question": records, "refusal_tradeoff": []}, out / s.name)
        rows.append({k: v for k, v in result.items() if k != "per_question"})
    for role, records in pooled.items():
        rows.append({"set": f"all {role} (pooled)", "role": role, "n": len(records), "metrics": aggregate(records),
                     "intervals": intervals(records), "by_category": by_category(records),
                     "lead_outcomes": lead_outcomes(records), "baseline": None})
    combined: dict[str, Any] = {"generator": settings.generator, "sets": rows}
    if len(kept) == len(GAP_SETS):
        combined["gaps"] = gaps(*(kept[name] for name in GAP_SETS))
    out.mkdir(parents=True, exist_ok=True)
    (out / "combined.json").write_text(json.dumps(combined, indent=1), encoding="utf-8")
    (out / "combined.md").write_text(markdown(combined), encoding="utf-8")
    plot(combined, out / "plots")
    return combined


def _result(s: EvalSet, records: list[dict[str, Any]]) -> dict[str, Any]:
    return {"set": s.name, "role": s.role, "dataset": str(s.path), "generator": "extractive", "n": len(records),
            "metrics": aggregate(records), "intervals": intervals(records), "by_category": by_category(records),
            "lead_outcomes": lead_outcomes(records), "baseline": None}


def _fmt(value: float | None, metric: str) -> str:
    if value is None:
        return "–"
    return f"{value:.0f}" if metric.startswith("answer_words") else f"{value:.2f}"


def table(combined: dict[str, Any]) -> str:
    """The one table CI prints: a row per set (and pooled rows), baselines beneath."""
    head = ["set", "role", "n", *(SHORT[c] for c in COLUMNS)]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in combined["sets"]:
        cells = [row["set"], row["role"], str(row["n"]), *(_fmt(row["metrics"].get(c), c) for c in COLUMNS)]
        lines.append("| " + " | ".join(cells) + " |")
    for row in combined["sets"]:
        if row.get("baseline"):
            base = row["baseline"]["metrics"]
            name = f"{row['set']} (naive baseline)"
            cells = [name, row["role"], str(row["n"]), *(_fmt(base.get(c), c) for c in COLUMNS)]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def markdown(combined: dict[str, Any]) -> str:
    """combined.md: the table, the plots, and per-category figures of the pooled rows."""
    parts = ["# Eval: every set", "", table(combined), ""]
    parts += ["## The answers issue's targets", "", "Each figure with its 95 % bootstrap interval over questions "
              "(eval/targets.py).", "", targets_table(combined, SHORT), ""]
    parts += ["## Blind against dev", "", gap_table(combined, SHORT), ""]
    parts += [f"![{c}](plots/{c}.png)" for c in COLUMNS]
    parts += ["", "## Where the lead is lost", "", outcomes_table(combined), ""]
    parts += ["![lead outcomes](plots/lead_outcomes.png)"]
    for row in combined["sets"]:
        if row["set"].startswith("all "):
            head = "| category | " + " | ".join(SHORT[c] for c in COLUMNS) + " |"
            parts += ["", f"## {row['set']} by category", "", head, "|" + "---|" * (len(COLUMNS) + 1)]
            for cat, metrics in row["by_category"].items():
                parts.append(f"| {cat} | " + " | ".join(_fmt(metrics.get(c), c) for c in COLUMNS) + " |")
    return "\n".join(parts) + "\n"


def outcomes_table(combined: dict[str, Any]) -> str:
    """Per set, the share of answerable questions in each eval.metrics.LEAD_OUTCOMES class."""
    lines = ["| set | " + " | ".join(LEAD_OUTCOMES) + " |", "|" + "---|" * (len(LEAD_OUTCOMES) + 1)]
    for row in combined["sets"]:
        shares = row.get("lead_outcomes") or {}
        lines.append(f"| {row['set']} | " + " | ".join(_fmt(shares.get(o), o) for o in LEAD_OUTCOMES) + " |")
    return "\n".join(lines)


def plot_outcomes(combined: dict[str, Any], path: Path) -> None:
    """Stacked bars: per set, where its answerable questions' evidence ends up (eval.metrics.LEAD_OUTCOMES)."""
    import matplotlib.pyplot as plt

    rows = [row for row in combined["sets"] if row.get("lead_outcomes")]
    fig, ax = plt.subplots(figsize=(10, 3.6))
    left = [0.0] * len(rows)
    colours = ("#4c9a5a", "#9cc7a4", "#e3b04b", "#c8553d", "#7a7a7a")
    for outcome, colour in zip(LEAD_OUTCOMES, colours, strict=True):
        shares = [row["lead_outcomes"][outcome] for row in rows]
        ax.barh(range(len(rows)), shares, left=left, color=colour, label=outcome)
        left = [a + b for a, b in zip(left, shares, strict=True)]
    ax.set_yticks(range(len(rows)), [f"{row['set']} ({row['role']})" for row in rows], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 1)
    ax.set_title("Where each answerable question's evidence ends up (share of questions)")
    ax.legend(ncol=5, fontsize=7, loc="lower center", bbox_to_anchor=(0.5, -0.28))
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def plot(combined: dict[str, Any], folder: Path) -> None:
    """One bar chart per metric across sets, dev and blind in two colours."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    folder.mkdir(parents=True, exist_ok=True)
    rows = combined["sets"]
    for c in COLUMNS:
        fig, ax = plt.subplots(figsize=(10, 3.2))
        values = [row["metrics"].get(c) or 0.0 for row in rows]
        colours = ["#4878a8" if row["role"] == "dev" else "#d08a3c" for row in rows]
        ax.bar(range(len(rows)), values, color=colours)
        ax.set_xticks(range(len(rows)), [row["set"] for row in rows], rotation=70, fontsize=7)
        ax.set_title(f"{SHORT[c]} ({'lower' if c in LOWER_IS_BETTER else 'higher'} is better; blue dev, orange blind)")
        fig.tight_layout()
        fig.savefig(folder / f"{c}.png", dpi=90)
        plt.close(fig)
    plot_outcomes(combined, folder / "lead_outcomes.png")


def run_all_cli(settings: Settings, out: str, baseline: bool) -> int:
    """`csto-qa eval --all`: print the combined table."""
    combined = run_all(settings, Path(out), baseline)
    print(table(combined))
    print(f"\nwrote {Path(out) / 'combined.md'} and one report per set under {out}/", file=sys.stderr)
    return 0


assert set(COLUMNS) <= set(METRICS)
