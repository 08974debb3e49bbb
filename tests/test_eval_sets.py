"""eval/sets.toml: every set has a file that loads, a role, and flags that make sense together (no model needed)."""

from __future__ import annotations

from eval.dataset import load_dataset
from eval.sets import eval_sets


def test_every_listed_set_loads_and_has_a_role() -> None:
    for s in eval_sets():
        assert s.role in ("dev", "blind"), s.name
        assert s.purpose, s.name
        assert load_dataset(s.path), s.name  # the file exists and every line validates


def test_only_dev_sets_are_fitted_and_only_unfitted_ones_are_measured_in_the_l2_grid() -> None:
    sets = eval_sets()
    assert not any(s.fitted for s in sets if s.role == "blind")
    for s in sets:
        if not s.grid:  # leaving the fit report's L2 grid means something only for an unfitted dev set
            assert s.role == "dev" and not s.fitted, s.name
    measured = [s for s in eval_sets("dev") if not s.fitted and not s.derived_from and s.grid]
    assert measured, "the fit report's answerability L2 grid needs at least one unfitted dev set"


def test_a_reworded_set_is_held_out_with_the_set_it_rewords() -> None:
    """paraphrase asks the gated set's questions again in other words: the fit's cross-validation keeps the two in
    one group, so an adapter never scores a question whose twin it was fitted on."""
    from eval.fit import writer

    sets = {s.name: s for s in eval_sets()}
    for s in sets.values():
        if s.fold_with:
            assert s.fold_with in sets and sets[s.fold_with].fitted, s.name
    assert writer(sets["paraphrase"], "p001") == writer(sets["dataset"], "q001") == "dataset"
    assert writer(sets["dev-heldouts"], "h14-030") == "dev-heldouts:h14"
