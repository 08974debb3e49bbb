"""The eval sets listed in eval/sets.toml, each with its role (dev or blind) and purpose."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

EVAL = Path(__file__).resolve().parent
SETS_FILE = EVAL / "sets.toml"
SETS_DIR = EVAL / "sets"


@dataclass(frozen=True)
class EvalSet:
    """One eval set: name, role, purpose and file."""

    name: str
    role: str
    purpose: str
    derived_from: str = ""  # made from another set's questions by a script: neither fitted on nor pooled
    fit: bool = True  # whether eval/fit.py fits the reader on it (dev sets only)
    grid: bool = True  # a dev set not fitted on: whether the fit report's answerability L2 grid is measured on it
    fold_with: str = ""  # another set whose questions it rewords: eval/fit.py keeps both in one cross-validation fold

    @property
    def fitted(self) -> bool:
        """Whether the reader is fitted on this set."""
        return self.role == "dev" and self.fit and not self.derived_from

    @property
    def path(self) -> Path:
        """Its JSONL file."""
        return SETS_DIR / f"{self.name}.jsonl"


def eval_sets(role: str | None = None) -> list[EvalSet]:
    """The listed sets (of one role, when given), in file order."""
    raw = tomllib.loads(SETS_FILE.read_text(encoding="utf-8"))["sets"]
    out = [
        EvalSet(name, spec["role"], spec["purpose"], spec.get("derived_from", ""), spec.get("fit", True),
                spec.get("grid", True), spec.get("fold_with", ""))
        for name, spec in raw.items()
    ]
    return [s for s in out if role is None or s.role == role]
