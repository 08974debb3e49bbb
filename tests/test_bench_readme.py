"""The README's Benchmarks block is the table generated from the committed benchmark results (issue 26)."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _generator():
    spec = importlib.util.spec_from_file_location("bench_readme", ROOT / "scripts" / "bench_readme.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readme_benchmarks_block_matches_the_results_json():
    gen = _generator()
    results = json.loads(gen.RESULTS.read_text(encoding="utf-8"))
    readme = gen.README.read_text(encoding="utf-8")
    assert gen.current(readme) == gen.block(results)
    assert readme.index(gen.START) < readme.index("## Failure behaviour")


def test_the_table_shows_each_run_and_the_ratio_to_the_start():
    gen = _generator()
    run = {"cold_ask_s": 2.0, "warm_ask_ms_p95": 30.0, "passages": 89}
    results = {
        "real": {"measured_at": "d1", "commit": "abc", "cores": 2, "now": run, "start_rev": "s0",
                 "start": {**run, "cold_ask_s": 8.0}},
        "scale-10000": {"measured_at": "d2", "commit": "abc", "now": {**run, "passages": 10089}},
    }
    table = gen.table(results)
    header, _, cold, p95, passages = table.split("\n\n")[0].splitlines()
    assert header.count("|") == 6 and "at the start" in header and "+10,000 chunks" in header
    assert "s0" not in header and "abc" not in header  # the README names no commit
    assert cold == "| cold `csto-qa ask`, median (s) | 8 | 2 | 0.25 | 2 |"
    assert passages.endswith("| 89 | 89 | 1 | 10089 |")
    assert "d1 to d2" in table
