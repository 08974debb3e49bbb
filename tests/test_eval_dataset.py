"""Consistency tests for the evaluation dataset (no model, no network)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from eval.dataset import (
    CATEGORIES,
    DatasetError,
    EvalItem,
    fold,
    fold_loose,
    load_dataset,
)

ROOT = Path(__file__).resolve().parent.parent
DATASET = ROOT / "eval" / "sets" / "dataset.jsonl"
ARTICLE = ROOT / "index" / "data" / "lacroix-2020-csto.txt"


@pytest.fixture(scope="module")
def items() -> list[EvalItem]:
    """Load the dataset once per module."""
    return load_dataset(DATASET)


@pytest.fixture(scope="module")
def article() -> str:
    """Return the raw article text."""
    return ARTICLE.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def folded_paragraphs(article: str) -> list[str]:
    """Return the folded paragraphs of the article (split on blank lines)."""
    return [fold(p) for p in re.split(r"\n\s*\n", article) if p.strip()]


@pytest.fixture(scope="module")
def bibliography_lines(article: str) -> list[str]:
    """Return the folded non-empty lines after the final 'Bibliography' heading."""
    start = article.rindex("\nBibliography\n")
    return [fold(line) for line in article[start:].splitlines() if line.strip()]


def _answerable(items: list[EvalItem]) -> list[EvalItem]:
    """Return only the answerable items."""
    return [item for item in items if item.answerable]


def test_dataset_size_and_categories(items: list[EvalItem]) -> None:
    """The dataset is large enough and covers every category."""
    assert len(items) >= 100
    counts = Counter(item.category for item in items)
    assert counts["unanswerable"] >= 20
    assert set(CATEGORIES) <= set(counts)


def test_ids_unique_and_well_formed(items: list[EvalItem]) -> None:
    """Ids are unique and look like q001."""
    ids = [item.id for item in items]
    assert len(ids) == len(set(ids))
    assert all(re.fullmatch(r"q\d{3}", i) for i in ids)


def test_answerable_flag_matches_category(items: list[EvalItem]) -> None:
    """Unanswerable items carry no grounding; answerable ones do."""
    for item in items:
        if item.category == "unanswerable":
            assert not item.answerable, item.id
            assert item.evidence == [], item.id
            assert item.key_facts == [], item.id
            assert item.cited_sources == [], item.id
        else:
            assert item.answerable, item.id
            assert 1 <= len(item.evidence) <= 2, item.id
            assert 1 <= len(item.key_facts) <= 3, item.id
            assert all(group for group in item.key_facts), item.id


def test_evidence_is_verbatim_within_one_paragraph(
    items: list[EvalItem], folded_paragraphs: list[str]
) -> None:
    """Every evidence quote occurs inside a single paragraph of the article."""
    for item in _answerable(items):
        for quote in item.evidence:
            folded = fold(quote)
            assert folded, item.id
            assert any(folded in para for para in folded_paragraphs), (item.id, quote)


def test_key_facts_appear_in_evidence(items: list[EvalItem]) -> None:
    """Each key-fact group has an alternative present in the joined evidence."""
    for item in _answerable(items):
        haystack = fold_loose(" ".join(item.evidence))
        for group in item.key_facts:
            assert any(
                fold_loose(alt) and fold_loose(alt) in haystack for alt in group
            ), (
                item.id,
                group,
            )


def test_cited_sources_exist_in_bibliography(
    items: list[EvalItem], bibliography_lines: list[str]
) -> None:
    """Each cited source matches a bibliography line by name and year."""
    for item in items:
        for source in item.cited_sources:
            name, _, year = source.rpartition(" ")
            assert name, (item.id, source)
            assert re.fullmatch(r"\d{4}[a-z]?", year), (item.id, source)
            year_re = re.compile(rf"(?<![0-9a-z]){re.escape(year)}(?![0-9a-z])")
            assert any(
                fold(name) in line and year_re.search(line)
                for line in bibliography_lines
            ), (item.id, source)


def test_attribution_and_bibliography_cite_sources(items: list[EvalItem]) -> None:
    """Attribution and bibliography questions name at least one source."""
    for item in items:
        if item.category in {"attribution", "bibliography"}:
            assert item.cited_sources, item.id


def test_multi_turn_history(items: list[EvalItem]) -> None:
    """Multi-turn items have a non-empty history that ends with the assistant."""
    for item in items:
        if item.category == "multi_turn":
            assert item.history, item.id
            assert item.history[0].role == "user", item.id
            assert item.history[-1].role == "assistant", item.id


def test_load_dataset_rejects_bad_json(tmp_path: Path) -> None:
    """A malformed line raises DatasetError naming the file and line."""
    good = DATASET.read_text(encoding="utf-8").splitlines()[0]
    path = tmp_path / "bad.jsonl"
    path.write_text(good + "\n\n{not json\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad\.jsonl:3"):
        load_dataset(path)


def test_load_dataset_rejects_schema_error_and_duplicates(tmp_path: Path) -> None:
    """Unknown fields and duplicate ids raise DatasetError."""
    record = json.loads(DATASET.read_text(encoding="utf-8").splitlines()[0])
    extra = tmp_path / "extra.jsonl"
    extra.write_text(json.dumps({**record, "bogus": 1}) + "\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"extra\.jsonl:1"):
        load_dataset(extra)
    dup = tmp_path / "dup.jsonl"
    dup.write_text((json.dumps(record) + "\n") * 2, encoding="utf-8")
    with pytest.raises(DatasetError, match=r"dup\.jsonl:2.*duplicate"):
        load_dataset(dup)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  \u201cEmperor  with\nno clothes\u201d  ", '"emperor with no clothes"'),
        ("Russia\u2019s *Kanal* \u2014 \\$ 200", "russia's kanal - $ 200"),
        ("_Boyevoye_ Bratstvo \u2013 snake_case", "boyevoye bratstvo - snake_case"),
        ("\uff23\uff33\uff34\uff2f\u00a0Stra\u00dfe", "csto strasse"),
    ],
)
def test_fold_examples(raw: str, expected: str) -> None:
    """Check that fold normalises quotes, dashes, emphasis, escapes, width and case."""
    assert fold(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("Réjeanne M. Lacroix", "rejeanne m lacroix"),
        ("51.1% of the NATO budget", "51 1 of the nato budget"),
        ("'*chuzhoy sredi svoikh*' (stranger)", "chuzhoy sredi svoikh stranger"),
        ("Buzan and Wæver, 23-25", "buzan and wæver 23 25"),
    ],
)
def test_fold_loose_examples(raw: str, expected: str) -> None:
    """Check that fold_loose drops accents and punctuation, keeping alphanumerics."""
    assert fold_loose(raw) == expected
