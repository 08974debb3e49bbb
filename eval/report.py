"""The eval's human-readable outputs: the printed summary table, report.md and its two plots (matplotlib, Agg)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  - after choosing the headless backend

from eval.metrics import LOWER_IS_BETTER, METRICS  # noqa: E402

CATEGORY_PLOT = "by_category.png"
TRADEOFF_PLOT = "refusal_tradeoff.png"
PLOTTED = ("retrieval_recall_at_5", "evidence_hit", "key_fact_recall", "source_attribution_recall")
CATEGORY_COLUMNS = (
    "retrieval_recall_at_5",
    "mrr",
    "evidence_hit",
    "key_fact_recall",
    "citation_precision",
    "source_attribution_recall",
    "refusal_accuracy",
    "false_refusal_rate",
)
WORST = 10


def fmt(value: float | None, metric: str = "") -> str:
    """A metric value for a table: ms with one decimal, shares with three, null as n/a."""
    if value is None:
        return "n/a"
    return f"{value:.1f}" if metric.endswith("_ms") else f"{value:.3f}"


def _baseline_metrics(results: dict[str, Any]) -> dict[str, float | None]:
    """The baseline's metrics, or {} when it was not run."""
    return (results.get("baseline") or {}).get("metrics", {})


def summary_table(results: dict[str, Any]) -> str:
    """A plain-text table: metric, our pipeline, the naive baseline."""
    base = _baseline_metrics(results)
    rows = [("metric", "ours", "baseline"), ("-" * 26, "-" * 9, "-" * 9)]
    for m in METRICS:
        rows.append(
            (
                m + (" (lower=better)" if m in LOWER_IS_BETTER else ""),
                fmt(results["metrics"][m], m),
                fmt(base.get(m), m) if base else "-",
            )
        )
    head = f"{results['n']} questions, generator {results['generator']}, dataset {results['dataset']}"
    return head + "\n" + "\n".join(f"{a:<40} {b:>9} {c:>9}" for a, b, c in rows)


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A markdown table."""
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in rows])


def problems(record: dict[str, Any]) -> list[str]:
    """What went wrong on one question, worst first (for the worst-questions table)."""
    m, out = record["metrics"], []
    if m["false_refusal_rate"] == 1.0:
        out.append("false refusal")
    if m["refusal_accuracy"] == 0.0:
        out.append("answered an unanswerable question")
    if m["retrieval_recall_at_5"] == 0.0:
        out.append(f"evidence not in top 5 (rank {record.get('evidence_rank') or '>10'})")
    if m["evidence_hit"] == 0.0 and not record["refused"]:
        out.append("no cited passage holds the evidence")
    if m["key_fact_recall"] is not None and m["key_fact_recall"] < 1.0:
        out.append(f"key facts {m['key_fact_recall']:.2f}")
    if m["source_attribution_recall"] is not None and m["source_attribution_recall"] < 1.0:
        out.append(f"sources {m['source_attribution_recall']:.2f}")
    if m["citation_precision"] is not None and m["citation_precision"] < 1.0:
        out.append(f"citation precision {m['citation_precision']:.2f}")
    return out


def badness(record: dict[str, Any]) -> float:
    """How badly a question went: refusal errors weigh 2, missed evidence and key facts 1, sources 0.5."""
    m = record["metrics"]

    def miss(name: str, weight: float) -> float:
        value = m[name]
        return 0.0 if value is None else weight * (1.0 - value)

    refusal = 2.0 * (
        (m["false_refusal_rate"] or 0.0) + (1.0 - m["refusal_accuracy"] if m["refusal_accuracy"] is not None else 0.0)
    )
    return (
        refusal
        + miss("evidence_hit", 1)
        + miss("key_fact_recall", 1)
        + miss("retrieval_recall_at_5", 0.5)
        + miss("source_attribution_recall", 0.5)
        + miss("citation_precision", 0.5)
    )


def worst_questions(records: Sequence[dict[str, Any]], n: int = WORST) -> list[dict[str, Any]]:
    """The n questions that went worst (ties in dataset order)."""
    ranked = sorted(records, key=lambda r: -badness(r))
    return [r for r in ranked[:n] if badness(r) > 0]


def plot_categories(results: dict[str, Any], path: Path) -> None:
    """Grouped bars per category of the main answer metrics, ours (solid) vs baseline (hatched)."""
    cats = list(results["by_category"])
    base = (results.get("baseline") or {}).get("by_category", {})
    fig, axes = plt.subplots(len(PLOTTED), 1, figsize=(10, 2.4 * len(PLOTTED)), sharex=True)
    xs = range(len(cats))
    for ax, metric in zip(axes, PLOTTED, strict=True):
        ours = [results["by_category"][c][metric] or 0.0 for c in cats]
        ax.bar([x - 0.2 for x in xs], ours, width=0.4, label="ours", color="tab:blue")
        if base:
            ax.bar(
                [x + 0.2 for x in xs],
                [base[c][metric] or 0.0 for c in cats],
                width=0.4,
                label="baseline",
                color="white",
                edgecolor="tab:gray",
                hatch="//",
            )
        ax.set_ylim(0, 1.05)
        ax.set_ylabel(metric, fontsize=8)
    axes[0].legend(loc="upper right", fontsize=8)
    axes[-1].set_xticks(list(xs), cats, rotation=20)
    fig.suptitle("Per-category metrics (n/a shown as 0)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def plot_tradeoff(results: dict[str, Any], path: Path) -> None:
    """Refusal accuracy against false refusal rate over thresholds, the configured threshold annotated."""
    pts = [
        p
        for p in results["refusal_tradeoff"]
        if p["refusal_accuracy"] is not None and p["false_refusal_rate"] is not None
    ]
    fig, ax = plt.subplots(figsize=(6, 5))
    ax.plot([p["false_refusal_rate"] for p in pts], [p["refusal_accuracy"] for p in pts], marker=".", color="tab:blue")
    configured = results.get("refusal_threshold")
    if pts and configured is not None:
        near = min(pts, key=lambda p: abs(p["threshold"] - configured))
        ax.scatter([near["false_refusal_rate"]], [near["refusal_accuracy"]], color="tab:red", zorder=3)
        ax.annotate(
            f"configured {configured:.2f}",
            (near["false_refusal_rate"], near["refusal_accuracy"]),
            textcoords="offset points",
            xytext=(12, 8),
            color="tab:red",
        )
    ax.set_xlabel("false refusal rate (answerable refused)")
    ax.set_ylabel("refusal accuracy (unanswerable refused)")
    ax.set_xlim(-0.02, 1.02)
    ax.set_ylim(-0.02, 1.02)
    ax.set_title("Refusal trade-off, thresholds -0.2 to 1.0")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def _metrics_section(results: dict[str, Any]) -> str:
    """The ours-vs-baseline table."""
    base = _baseline_metrics(results)
    rows = [(m, fmt(results["metrics"][m], m), fmt(base.get(m), m) if base else "-") for m in METRICS]
    return _md_table(("metric", "ours", "naive baseline"), rows)


def _category_section(results: dict[str, Any]) -> str:
    """Per-category table: ours (baseline in parentheses)."""
    base = (results.get("baseline") or {}).get("by_category", {})
    n = {c: sum(r["category"] == c for r in results["per_question"]) for c in results["by_category"]}
    rows = []
    for cat, metrics in results["by_category"].items():
        cells = [fmt(metrics[m]) + (f" ({fmt(base[cat][m])})" if base else "") for m in CATEGORY_COLUMNS]
        rows.append([f"{cat} ({n[cat]})", *cells])
    return _md_table(("category (n)", *CATEGORY_COLUMNS), rows)


def _tradeoff_section(results: dict[str, Any]) -> str:
    """A short table of the refusal trade-off every 0.1."""
    rows = [
        (f"{p['threshold']:.2f}", fmt(p["refusal_accuracy"]), fmt(p["false_refusal_rate"]))
        for p in results["refusal_tradeoff"]
        if round(p["threshold"] * 100) % 10 == 0
    ]
    return _md_table(("threshold", "refusal_accuracy", "false_refusal_rate"), rows)


def _worst_section(results: dict[str, Any]) -> str:
    """The worst questions, with what went wrong."""
    rows = [
        (r["id"], r["category"], r["question"].replace("|", "/"), "; ".join(problems(r)))
        for r in worst_questions(results["per_question"])
    ]
    return _md_table(("id", "category", "question", "problems"), rows) if rows else "None."


def write_report(results: dict[str, Any], out_dir: Path) -> Path:
    """Write report.md and the two PNGs it links into out_dir; return the report path."""
    plot_categories(results, out_dir / CATEGORY_PLOT)
    plot_tradeoff(results, out_dir / TRADEOFF_PLOT)
    base_note = (
        "Naive baseline: stock llama-index over the article file only (SimpleDirectoryReader, default "
        "SentenceSplitter, same MiniLM embeddings, Chroma, dense top-10); its answer is the top passage "
        "cited [1], it never refuses and cites no works."
        if results.get("baseline")
        else "Baseline not run."
    )
    parts = [
        "# csto-qa eval report",
        "",
        f"Dataset `{results['dataset']}`, {results['n']} questions, generator `{results['generator']}`.",
        "",
        "## Metrics",
        "",
        _metrics_section(results),
        "",
        base_note,
        "",
        "## By category",
        "",
        "Ours (naive baseline in parentheses).",
        "",
        _category_section(results),
        "",
        f"![per-category metrics]({CATEGORY_PLOT})",
        "",
        "## Refusal trade-off",
        "",
        f"Evidence strength recorded per question; configured threshold {results.get('refusal_threshold')}. "
        "Only the threshold varies; a question whose best sentences fail the assistant's other checks (a date, a "
        "quantity, a place or a person asked for but not stated; names asked about but absent; a year after the "
        "article's horizon) counts as refused at every threshold.",
        "",
        _tradeoff_section(results),
        "",
        f"![refusal trade-off]({TRADEOFF_PLOT})",
        "",
        f"## {WORST} worst questions",
        "",
        _worst_section(results),
        "",
    ]
    path = out_dir / "report.md"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path
