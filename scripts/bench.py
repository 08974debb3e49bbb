"""Benchmark: index build, no-op rebuild, warm ask p50/p95, cold `csto-qa ask`, peak RSS. Prints figures.

Usage: python scripts/bench.py [--questions 60] [--repeats 3]
Shared machines are noisy: the script reports medians and compares within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from index import offline  # noqa: E402,F401


def _cli(args: list[str], data_dir: Path) -> tuple[float, int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    env["CSTO_QA_DATA_DIR"] = str(data_dir)
    t0 = time.perf_counter()
    out = subprocess.run([sys.executable, "-m", "ui.cli", *args], cwd=ROOT, env=env, capture_output=True, text=True)
    if out.returncode != 0:
        raise SystemExit(f"{args} failed: {out.stderr.strip()[-300:]}")
    return time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--questions", type=int, default=60)
    ap.add_argument("--repeats", type=int, default=3)
    args = ap.parse_args()
    data = Path(tempfile.mkdtemp(prefix="csto-bench-"))
    build_s, _ = _cli(["index", "--quiet"], data)
    noop = [_cli(["index", "--quiet"], data)[0] for _ in range(args.repeats)]
    cold = []
    rss_child = 0
    for _ in range(args.repeats):
        s, rss_child = _cli(["ask", "When was the CSTO established?"], data)
        cold.append(s)

    from eval.dataset import load_dataset
    from index.settings import load_settings
    from rag import Assistant

    questions = [item.question for item in load_dataset(ROOT / "eval" / "sets" / "dataset.jsonl")][: args.questions]
    assistant = Assistant.from_settings(load_settings(data_dir=data))
    assistant.ask("warm-up question about the CSTO")
    lat = []
    for q in questions:
        t0 = time.perf_counter()
        assistant.ask(q)
        lat.append((time.perf_counter() - t0) * 1000)
    lat.sort()
    p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
    rss_self = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    figures = {
        "index_build_s": round(build_s, 2),
        "noop_rebuild_s_median": round(statistics.median(noop), 2),
        "warm_ask_ms_p50": round(statistics.median(lat), 1),
        "warm_ask_ms_p95": round(p95, 1),
        "warm_questions": len(lat),
        "cold_cli_ask_s_median": round(statistics.median(cold), 2),
        "peak_rss_mb_cli_ask": round(rss_child / 1024, 1),
        "peak_rss_mb_warm_process": round(rss_self / 1024, 1),
    }
    width = max(map(len, figures))
    for k, v in figures.items():
        print(f"{k:<{width}}  {v}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
