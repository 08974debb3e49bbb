"""Keep the README's Benchmarks table true: `python scripts/bench_readme.py` writes the block of README.md between
its `<!-- bench:start -->` / `<!-- bench:end -->` markers from scripts/bench-results.json (written by
scripts/bench.py); `--check` only compares and exits 1 when the README differs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
RESULTS = ROOT / "scripts" / "bench-results.json"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"

ROWS = (  # (key, what the row shows)
    ("cold_ask_s", "cold `csto-qa ask`, median (s)"),
    ("warm_ask_ms_p50", "warm ask p50 (ms)"),
    ("warm_ask_ms_p95", "warm ask p95 (ms)"),
    ("stage_ms_dense", "of a warm ask: dense search (ms)"),
    ("stage_ms_bm25", "of a warm ask: BM25 (ms)"),
    ("stage_ms_sentences", "of a warm ask: best-sentence search (ms)"),
    ("stage_ms_read_compose", "of a warm ask: read and compose (ms)"),
    ("build_s", "index build (s)"),
    ("build_chunks_per_s", "build throughput (chunks/s)"),
    ("noop_s", "no-op rebuild (s)"),
    ("peak_rss_mb_cli_ask", "peak RSS, CLI ask (MB)"),
    ("peak_rss_mb_warm", "peak RSS, warm process (MB)"),
    ("disk_mb", "index on disk (MB)"),
    ("passages", "passages"),
)


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, float) and not value.is_integer():
        return f"{value:.3g}" if abs(value) < 100 else f"{value:.0f}"
    return f"{int(value)}"


def _order(label: str) -> tuple[int, int, str]:
    scale = 0 if label.startswith("real") else int(label.split("-")[1])
    return (scale, label.endswith("-server"), label)


def columns(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(heading, figures) of each column: the real article at the start commit, now, and each scale run (the commits
    measured stay in scripts/bench-results.json: the README names none)."""
    cols: list[tuple[str, dict[str, Any]]] = []
    for label in sorted(results, key=_order):
        run = results[label]
        where = " (Chroma server)" if label.endswith("-server") else ""
        if label.startswith("real"):
            if "start" in run:
                cols.append((f"article, at the start{where}", run["start"]))
            cols.append((f"article, now{where}", run["now"]))
            if "start" in run:
                ratio = {k: v / run["start"][k] for k, v in run["now"].items() if _number(v, run["start"].get(k))}
                cols.append(("now / start", ratio))
        else:
            cols.append((f"+{int(label.split('-')[1]):,} chunks{where}", run["now"]))
    return cols


def _number(value: Any, other: Any) -> bool:
    return isinstance(value, int | float) and isinstance(other, int | float) and other != 0


def table(results: dict[str, Any]) -> str:
    """The Markdown table of the benchmark's figures."""
    cols = columns(results)
    lines = ["| measure | " + " | ".join(h for h, _ in cols) + " |", "|---|" + "---:|" * len(cols)]
    for key, label in ROWS:
        cells = [_cell(figures.get(key)) for _, figures in cols]
        if any(c != "–" for c in cells):
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    dates = sorted({run["measured_at"] for run in results.values()})
    note = f"Measured by `python scripts/bench.py` on {results[next(iter(results))].get('cores', '?')} cores"
    return "\n".join(lines) + f"\n\n{note}, {dates[0]} to {dates[-1]} (UTC)."


def block(results: dict[str, Any]) -> str:
    """The README's Benchmarks block, markers included."""
    return f"{START}\n{table(results)}\n{END}"


def current(text: str) -> str:
    """The Benchmarks block as it stands in a README text."""
    return text[text.index(START) : text.index(END) + len(END)]


def main(argv: list[str]) -> int:
    """Write (or with --check compare) the README's Benchmarks block."""
    results = json.loads(RESULTS.read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    wanted = block(results)
    if "--check" in argv:
        if current(text) != wanted:
            print("README.md's Benchmarks block differs from scripts/bench-results.json; run scripts/bench_readme.py")
            return 1
        return 0
    README.write_text(text.replace(current(text), wanted), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
