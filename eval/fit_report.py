"""The files `python -m eval.fit` writes: reader.npz, reader.json and the fit report reader-fit.md."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from eval.sets import eval_sets
from rag.query import IntentModel
from rag.read import FEATURES


def write(out: Path, adapter: np.ndarray, intents: IntentModel, coef: np.ndarray, intercept: float,
          floors: dict[str, dict[str, float]], refusal: dict[str, Any], report: dict[str, Any]) -> None:
    """reader.npz, reader.json and reader-fit.md in `out` (rag/data/ for the shipped model)."""
    refusal_coef = np.asarray(refusal.pop("coef"), dtype=np.float32)
    checks_coef = np.asarray(refusal["checks_only"].pop("coef"), dtype=np.float32)
    np.savez_compressed(out / "reader.npz", adapter=adapter.astype(np.float16).astype(np.float32),
                        refusal_coef=refusal_coef, refusal_checks_coef=checks_coef,
                        intent_weights=intents.weights.astype(np.float32), intent_bias=intents.bias.astype(np.float32))
    meta = {"features": list(FEATURES), "coef": [round(float(c), 6) for c in coef], "intercept": round(intercept, 6),
            "intents": list(intents.labels), "floors": floors, "refusal": refusal, "fit": report,
            "dev_sets": [s.name for s in eval_sets("dev") if s.fitted]}
    (out / "reader.json").write_text(json.dumps(meta, indent=1) + "\n", encoding="utf-8")
    lines = ["# Reader fit report", "", "Written by `python -m eval.fit` on the dev sets of eval/sets.toml.", "",
             "| measure | value |", "|---|---|"]
    lines += [f"| {k} | {v if not isinstance(v, float) else round(v, 3)} |" for k, v in report.items()]
    lines += ["", "Top-1: the share of answerable dev questions (with a gold sentence among the candidates) whose",
              "best-scored candidate holds the evidence. adapter/reader top-1 are out-of-fold (adapters fitted",
              "without the question's own set).", "", "| feature | coefficient |", "|---|---|"]
    lines += [f"| {f} | {c:+.3f} |" for f, c in zip(FEATURES, coef, strict=True)]
    lines += ["", "| intent | floor (abs) | floor (rel. to best) |", "|---|---|---|"]
    lines += [f"| {k} | {v['abs']} | {v['rel']} |" for k, v in floors.items()]
    lines += ["", f"Answerability: threshold {refusal['threshold']:.3f}, dev refusal accuracy "
              f"{refusal['cv_refusal_accuracy']:.3f}, dev false refusals "
              f"{refusal['cv_false_refusal_rate']:.3f} (out of fold); on the checks alone (full texts): threshold "
              f"{refusal['checks_only']['threshold']:.3f}, refusal accuracy "
              f"{refusal['checks_only']['cv_refusal_accuracy']:.3f}. Topic floor (no answerable dev question is "
              f"less related to its nearest candidate sentence): {refusal['topic_floor']:.3f}.", "",
              f"Its L2 strength is fixed at {refusal['l2']} (eval/fit.py, step 5); the grid shows what each value",
              "does out of fold and on the dev sets not fitted on, each row with its own out-of-fold threshold:", "",
              "| L2 | refusal accuracy (out of fold) | false refusals, sets not fitted on | refusal accuracy, same |",
              "|---|---|---|---|"]
    lines += [f"| {t['l2']} | {t['cv_refusal_accuracy']:.3f} | {t['unseen_false_refusals']:.3f} | "
              f"{t['unseen_refusal_accuracy']:.3f} |" for t in refusal["l2_grid"]] + [""]
    Path(out / "reader-fit.md").write_text("\n".join(lines), encoding="utf-8")
