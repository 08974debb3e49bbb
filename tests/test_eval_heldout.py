"""Measuring a dev set like a blind one (eval/heldout.py) and the fit's --without/--out arguments."""

from __future__ import annotations

from pathlib import Path

import pytest

from eval.fit import Example, _arguments, _without
from eval.heldout import SHOWN, markdown


def test_a_held_out_fit_never_overwrites_the_shipped_model(tmp_path: Path) -> None:
    with pytest.raises(SystemExit):
        _arguments(["--without", "dataset"])  # would write rag/data: refused
    args = _arguments(["--without", "dataset", "--out", str(tmp_path / "model")])
    assert args.without == "dataset" and (tmp_path / "model").is_dir()
    assert _arguments([]).without is None


def test_the_heldout_table_sets_both_models_side_by_side() -> None:
    def row(model: str, lead: float) -> dict:
        metrics = dict.fromkeys(SHOWN, 0.9) | {"lead_hit": lead, "refusal_accuracy": None}
        return {"set": "made-up", "model": model, "n": 10, "metrics": metrics,
                "intervals": {"lead_hit": [lead - 0.1, lead + 0.05]}}

    text = markdown({"group": "made-up", "rows": [row("shipped (fitted on it)", 0.95), row("held out", 0.8)]})
    lines = text.splitlines()
    assert lines[0] == "# Group 'made-up': fitted on, and held out"
    assert lines[-2].startswith("| made-up | shipped (fitted on it) | 10 | 0.95 (0.85–1.00) | 0.90 |")
    assert lines[-1].startswith("| made-up | held out | 10 | 0.80 (0.70–0.85) |")
    assert "| – |" in lines[-1]  # a metric without a value


def test_leaving_out_a_group_no_question_belongs_to_is_a_one_line_error() -> None:
    examples = [Example(item=None, group=g, query=None) for g in ("dataset", "dataset", "dev-heldouts:h1")]  # type: ignore[arg-type]
    assert [ex.group for ex in _without(examples, "dataset")] == ["dev-heldouts:h1"]
    assert _without(examples, None) == examples
    with pytest.raises(SystemExit, match="no fitted question is in the group 'datset'"):
        _without(examples, "datset")


def test_the_fit_without_an_index_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A real run of the script on an empty data directory: no traceback, and rag/data is not touched."""
    import os
    import subprocess
    import sys

    shipped = (Path(__file__).resolve().parents[1] / "rag" / "data" / "reader.npz").read_bytes()
    env = {**os.environ, "CSTO_QA_DATA_DIR": str(tmp_path / "none")}
    run = subprocess.run([sys.executable, "-m", "eval.fit"], env=env, capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1], check=False)
    assert run.returncode == 1
    assert "Traceback" not in run.stderr
    wanted = f"eval.fit: no index in {tmp_path / 'none'}; run `csto-qa index` first"
    assert run.stderr.strip().splitlines()[-1] == wanted
    assert (Path(__file__).resolve().parents[1] / "rag" / "data" / "reader.npz").read_bytes() == shipped
