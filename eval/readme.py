"""Keep the README's results true: `python -m eval.readme [COMBINED_JSON]` writes the results block of README.md
(between its `<!-- results -->` markers) from a combined eval (default: the committed eval/results/combined.json);
`--check` only compares our rows (not the naive baseline's) and exits 1 when the README differs."""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

from eval.combined import SHORT, table
from eval.targets import targets_table

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
SNAPSHOT = ROOT / "eval" / "results" / "combined.json"
START, END = "<!-- results:start -->", "<!-- results:end -->"
SHOWN = (
    "dataset", "paraphrase", "dev-heldouts", "blind-users", "blind-heldouts", "all dev (pooled)", "all blind (pooled)"
)


def block(combined: dict[str, Any]) -> str:
    """The README's results: a table of the gated set, the paraphrases, the new blind set, pooled dev and blind; the
    answers issue's targets with 95 % intervals (blind against dev, with its interval, is in combined.md)."""
    rows = [r for r in combined["sets"] if r["set"] in SHOWN]
    parts = [table({**combined, "sets": rows})]
    if any(r.get("intervals") for r in rows):
        parts += ["The answers issue's targets, each figure with its 95 % bootstrap interval over questions:",
                  targets_table(combined, SHORT)]
    return START + "\n" + "\n\n".join(parts) + "\n" + END


def current(text: str) -> str:
    """The results block as it stands in a README text."""
    return text[text.index(START) : text.index(END) + len(END)]


def _ours(table: str) -> list[str]:
    """The table's lines less the naive baseline's rows."""
    return [line for line in table.splitlines() if "(naive baseline)" not in line]


def main(argv: list[str]) -> int:
    """Write (or with --check compare) the README's results block."""
    check = "--check" in argv
    paths = [a for a in argv if not a.startswith("--")]
    source = Path(paths[0]) if paths else SNAPSHOT
    combined = json.loads(source.read_text(encoding="utf-8"))
    text = README.read_text(encoding="utf-8")
    wanted = block(combined)
    if check:  # the naive baseline builds its own HNSW index, which moves a point between runs: our rows only
        same = _ours(current(text)) == _ours(wanted)
        print("README results match" if same else f"README results differ from {source}", file=sys.stderr)
        return 0 if same else 1
    README.write_text(text.replace(current(text), wanted), encoding="utf-8")
    if source.resolve() != SNAPSHOT.resolve():
        SNAPSHOT.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source, SNAPSHOT)
        plots = source.parent / "plots"
        if plots.is_dir():
            shutil.copytree(plots, ROOT / "docs" / "plots", dirs_exist_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
