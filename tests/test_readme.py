"""The README stays true and short: its results come from the committed eval snapshot, it names no commit and
pastes no run log, and its "How to extend" steps for a cited work's full text work as written."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from eval.readme import README, SNAPSHOT, block, current

ROOT = Path(__file__).resolve().parents[1]


def test_the_readme_is_short_and_holds_no_commit_hash_or_run_log():
    text = README.read_text(encoding="utf-8")
    assert len(text.splitlines()) <= 300
    assert not re.search(r"\b(?=[0-9a-f]*\d)(?=[0-9a-f]*[a-f])[0-9a-f]{7,40}\b", text)
    assert "EXIT 0" not in text and "passed in" not in text


def test_the_results_table_is_the_one_generated_from_the_eval_snapshot():
    combined = json.loads(SNAPSHOT.read_text(encoding="utf-8"))
    assert current(README.read_text(encoding="utf-8")) == block(combined)
    roles = {row["set"]: row["role"] for row in combined["sets"]}
    assert roles["blind-users"] == "blind" and roles["dataset"] == "dev"


def test_the_thresholds_the_readme_states_are_the_gate():
    import tomllib

    gate = tomllib.loads((ROOT / "eval" / "thresholds.toml").read_text())["extractive"]
    text = README.read_text(encoding="utf-8")
    assert f"lead ≥ {gate['lead_hit']}" in text and f"precision ≥ {gate['sentence_precision']}" in text
    assert f"median ≤ {gate['max']['answer_words_p50']} words" in text
    assert f"p90 ≤ {gate['max']['answer_words_p90']}" in text


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("csto-qa")
    return subprocess.run([str(exe), *args], env=env, capture_output=True, text=True, timeout=600, check=False)


def test_adding_a_cited_works_full_text_as_the_readme_says(built_settings, tmp_path):
    """README, "How to extend": save `<key>.txt` in DATA_DIR/sources/, run `csto-qa index`, ask."""
    import shutil

    data = tmp_path / "data"
    shutil.copytree(built_settings.data_dir, data)
    (data / "sources").mkdir(exist_ok=True)
    (data / "sources" / "weitz2018.txt").write_text(
        "Readiness drills of the collective forces were held at the Lake Issyk-Kul training ground every spring, "
        "with mountain rescue teams from three member states practising avalanche evacuations together.\n",
        encoding="utf-8",
    )
    env = {**{k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}, "CSTO_QA_DATA_DIR": str(data)}
    built = _cli("index", "--quiet", env=env)
    assert built.returncode == 0, built.stderr
    asked = _cli("ask", "Where did mountain rescue teams practise avalanche evacuations?", "--json", env=env)
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    assert not answer["refused"]
    quoted = [c for c in answer["citations"] if c["kind"] == "fulltext"]
    assert quoted and quoted[0]["sources"][0]["key"] == "weitz2018" and "Issyk-Kul" in quoted[0]["quote"]
