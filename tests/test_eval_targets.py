"""The answers issue's targets with their intervals (eval/targets.py, eval.metrics.interval), on made-up records."""

from __future__ import annotations

from typing import Any

from eval.combined import SHORT
from eval.metrics import MEAN_METRICS, interval
from eval.targets import gap_table, gaps, intervals, targets_table


def records(lead: list[float]) -> list[dict[str, Any]]:
    """Per-question records whose every per-question metric is the given value."""
    return [{"metrics": dict.fromkeys(MEAN_METRICS, v)} for v in lead]


def test_an_interval_holds_the_mean_narrows_with_more_questions_and_repeats() -> None:
    few = [1.0] * 8 + [0.0] * 2
    many = few * 20
    lo, hi = interval(few)
    assert lo <= 0.8 <= hi and hi - lo > 0.3  # ten questions: a share known only to within tens of points
    lo2, hi2 = interval(many)
    assert lo2 <= 0.8 <= hi2 and hi2 - lo2 < 0.15
    assert interval(few) == (lo, hi)  # a fixed seed: the same answers give the same interval
    assert interval([None, None]) is None
    assert interval([1.0, None, 1.0]) == (1.0, 1.0)


def test_the_targets_table_marks_a_miss_and_shows_its_interval() -> None:
    good, short = records([1.0] * 19 + [0.0]), records([1.0] * 7 + [0.0] * 3)

    def row(name: str, recs: list[dict[str, Any]]) -> dict[str, Any]:
        mean = sum(r["metrics"]["lead_hit"] for r in recs) / len(recs)
        return {"set": name, "metrics": dict.fromkeys(MEAN_METRICS, mean), "intervals": intervals(recs)}

    combined = {"sets": [row("dataset", good), row("blind-users", short)]}
    lead = next(line for line in targets_table(combined, SHORT).splitlines() if line.startswith("| lead |"))
    cells = [c.strip() for c in lead.strip("|").split("|")]
    assert cells[1] == "≥ 0.85"
    assert cells[2].startswith("0.95 (") and "miss" not in cells[2]
    assert cells[3].startswith("**0.70 (") and cells[3].endswith("miss**")


def test_the_gap_table_says_whether_blind_stays_within_five_points_of_dev() -> None:
    dev, close, far = records([1.0] * 20), records([1.0] * 39 + [0.0]), records([1.0] * 8 + [0.0] * 2)
    assert abs(gaps(dev, close)["lead_hit"]["gap"] + 0.025) < 1e-9
    table = gap_table({"gaps": gaps(dev, close)}, SHORT)
    assert "| lead | 1.00 | 0.97 | -0.03 |" in table and table.splitlines()[-1].endswith("| yes |")
    far_gap = gaps(dev, far)["lead_hit"]
    assert abs(far_gap["gap"] + 0.2) < 1e-9 and far_gap["interval"][0] < -0.2 < far_gap["interval"][1]
    lead = next(line for line in gap_table({"gaps": gaps(dev, far)}, SHORT).splitlines() if "| lead |" in line)
    assert lead.startswith("| lead | 1.00 | 0.80 | -0.20 |") and lead.endswith("| no |")
