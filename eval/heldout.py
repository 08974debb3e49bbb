"""Measure a dev set like a blind one: `python -m eval.heldout [--without GROUP] [--out DIR]`.

The shipped reader is fitted on the gated set (`dataset`) and its paraphrases, so their figures are in-sample; the
answers issue compares the blind set with them. This re-fits the whole reader without that cross-validation group
(`python -m eval.fit --without GROUP --out DIR/model`, about three minutes) and evaluates the group's sets with that
model, beside the shipped model's figures: the difference is what fitting on a set adds to its own figures. Writes
DIR/heldout.json and DIR/heldout.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from eval.cli import one_line_errors
from eval.combined import SHORT
from eval.dataset import load_dataset
from eval.fit import writer
from eval.metrics import aggregate
from eval.runner import run_pipeline
from eval.sets import eval_sets
from eval.targets import figure, intervals
from index import offline
from index.settings import load_settings

SHOWN = ("lead_hit", "sentence_precision", "evidence_hit", "key_fact_recall", "source_attribution_recall",
         "refusal_accuracy", "false_refusal_rate")


def measure(group: str, out: Path) -> dict[str, Any]:
    """Fit without `group`, then evaluate the group's sets with the shipped model and with the held-out one."""
    from eval import fit
    from rag.api import Assistant
    from rag.read import ReaderModel

    sets = [s for s in eval_sets("dev") if s.fitted and writer(s, "") == group]
    if not sets:
        raise SystemExit(f"no fitted dev set forms the group {group!r} (eval/sets.toml)")
    fit.main(["--without", group, "--out", str(out / "model")])
    settings = load_settings()
    offline.configure_llama_index()
    rows = []
    for name, model in (("shipped (fitted on it)", ReaderModel.load()), ("held out", ReaderModel.load(out / "model"))):
        assistant = Assistant.from_settings(settings, model=model)
        for s in sets:
            records = run_pipeline(assistant, load_dataset(s.path), settings.generator)
            rows.append({"set": s.name, "model": name, "n": len(records), "metrics": aggregate(records),
                         "intervals": intervals(records)})
    result = {"group": group, "rows": rows}
    (out / "heldout.json").write_text(json.dumps(result, indent=1), encoding="utf-8")
    (out / "heldout.md").write_text(markdown(result), encoding="utf-8")
    return result


def markdown(result: dict[str, Any]) -> str:
    """A row per (set, model), the figures with their 95 % intervals."""
    lines = [f"# Group {result['group']!r}: fitted on, and held out", "",
             "| set | model | n | " + " | ".join(SHORT[m] for m in SHOWN) + " |", "|" + "---|" * (len(SHOWN) + 3)]
    for row in result["rows"]:
        cells = [figure(row, m) for m in SHOWN]
        lines.append(f"| {row['set']} | {row['model']} | {row['n']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m eval.heldout", description=__doc__.splitlines()[0])
    parser.add_argument("--without", default="dataset", help="the cross-validation group to hold out")
    parser.add_argument("--out", type=Path, default=Path("artifacts/heldout"), help="output folder")
    args = parser.parse_args(argv)
    print(markdown(measure(args.without, args.out)))
    print(f"wrote {args.out / 'heldout.md'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(one_line_errors(main, "eval.heldout"))
