"""Questions about the bibliography as a whole (rag/catalogue.py), on a made-up bibliography.

The made-up article is about the "Northern Defence Council" (NDC) and is written by Ann Writer, who also appears in
her own bibliography. Every question here is made up.
"""

from __future__ import annotations

import pytest

from index.types import Passage, SourceEntry
from rag.catalogue import Catalogue, Shelf, entry_sentences, kinds_named, shelf_text, year_filter
from rag.cite import citations


def entry(key: str, authors: list[str], year: int, **fields: object) -> SourceEntry:
    org = bool(fields.pop("organisation", False))
    family = authors[0] if org else authors[0].split(",")[0]
    raw = f"{authors[0]} ({year}), “A work by {family}”."
    return SourceEntry(key=key, label=f"{family} ({year})", authors=authors, organisation=org, year=year,
                       title=f"A work by {family}", raw=raw, start=0, end=len(raw), **fields)  # type: ignore[arg-type]


ENTRIES = {
    e.key: e
    for e in [
        entry("doe2009", ["Doe, Jane"], 2009, publisher="ACME Press", place="Springfield"),
        entry("doe2017", ["Doe, Jane"], 2017, container="Journal of Things", volume="3", pages="1-9"),
        entry("ndc2016", ["Northern Defence Council"], 2016, organisation=True, url="https://ndc.example/1"),
        entry("roe2017", ["Roe, Rick", "Poe, Pat"], 2017, container="Daily Planet", date="May 1, 2017"),
        entry("writer2015", ["Writer, Ann"], 2015, container="Blog of Ann", date="Jan 2, 2015"),
    ]
}
KNOWN = {"border", "tension", "exercis", "ministri", "treati", "found"}  # stemmed words the made-up article uses


def topical(word: str) -> bool:
    return word in KNOWN


CITES = {"doe2009": 1, "doe2017": 4, "ndc2016": 2, "roe2017": 4, "writer2015": 1}  # in-text citations per work


@pytest.fixture
def catalogue() -> Catalogue:
    return Catalogue(ENTRIES, own={"writer2015"}, subject={"northern", "defenc", "council", "ndc"}, cites=CITES)


def keys(catalogue: Catalogue, question: str) -> list[str] | None:
    shelf = catalogue.asked(question, topical)
    return None if shelf is None else [e.key for e in catalogue.matching(shelf)]


@pytest.mark.parametrize(
    ("question", "expected"),
    [
        ("Any 2017 items among the sources?", ["doe2017", "roe2017"]),
        ("List the references published before 2010.", ["doe2009"]),
        ("what sources since 2016 are in the refs", ["doe2017", "ndc2016", "roe2017"]),
        ("Which works from 2014 to 2016 does it cite?", ["ndc2016", "writer2015"]),
        ("Show me the books it cites.", ["doe2009"]),
        ("Which news items appear among the sources?", ["ndc2016", "roe2017", "writer2015"]),
        ("Anything by Doe among the references?", ["doe2009", "doe2017"]),
        ("Name the Daily Planet pieces it cites.", ["roe2017"]),
        ("Which sources does Ann Writer cite from 2009?", ["doe2009"]),  # the article's author cites: not a filter
        ("Which works by Writer are cited?", ["writer2015"]),  # ... unless the works are hers
        ("Which NDC documents are cited?", ["ndc2016"]),  # the article's subject, as the author of works
        ("Earliest publication among its sources?", ["doe2009"]),
        ("What is the most recent source?", ["doe2017", "roe2017"]),
        ("Most frequently cited sources?", ["doe2017", "roe2017"]),
        ("Which works are cited only once?", ["doe2009", "writer2015"]),
        ("Which online articles does it cite?", ["ndc2016", "roe2017", "writer2015"]),  # web items, not articles
        ("books before 2010?", ["doe2009"]),  # a fragment: a plural with a field asks for the set
        ("sources from 2016?", ["ndc2016"]),
        ("Which of the sources are from 2001?", []),
        ("Which works by Smith are cited?", []),
        ("List the sources that have the NDC as their author.", ["ndc2016"]),  # a role after the name
        ("Name the co-authored references.", ["roe2017"]),
        ("Any 2017 sources written by several authors?", ["roe2017"]),
        ("Which references from 2017 are cited, excluding news items?", ["doe2017"]),  # a kind ruled out
        ("Sources other than books?", ["doe2017", "ndc2016", "roe2017", "writer2015"]),
    ],
)
def test_a_question_about_the_bibliography_lists_the_works_whose_fields_match(catalogue, question, expected):
    assert keys(catalogue, question) == expected


@pytest.mark.parametrize(
    "question",
    [
        "Which sources does the article give for the border tension?",  # a topic: the reader answers it
        "Which articles of the treaty were signed?",  # "articles" with no field and no word for the bibliography
        "What is the Doe study about?",  # one work, named by its author
        "Which journal ran Doe's 2017 piece?",
        "When was the Northern Defence Council founded?",
        "Are there any sources from think tanks?",  # a word the bibliography's fields cannot answer for
        "The books from 2009 are expensive?",  # no cue, and a word the fields cannot answer for
        "Doe's book from 2009?",  # no cue and no plural: one work
    ],
)
def test_a_question_about_a_topic_or_one_work_is_not_a_listing(catalogue, question):
    assert catalogue.asked(question, topical) is None


def test_years_are_read_as_a_year_a_range_or_a_decade():
    assert year_filter("works from 2017") == ((2017,), None, None)
    assert year_filter("between 2010 and 2015") == ((), 2010, 2015)
    assert year_filter("from 2010-2015") == ((), 2010, 2015)
    assert year_filter("works after 2016") == ((), 2017, None)
    assert year_filter("anything published until 2016") == ((), None, 2016)
    assert year_filter("anything that predates 2016") == ((), None, 2015)
    assert year_filter("the 2010s") == ((), 2010, 2019)


def test_the_kind_of_a_work_is_read_from_its_fields_and_named_by_a_question():
    raw = "Lee, Kim (2011). Pact Talk in A. Editor (editor), *Pacts Revisited* (Springfield: ACME Press)."
    chapter = entry("lee2011", ["Lee, Kim"], 2011, container="Pacts Revisited", publisher="ACME Press")
    assert chapter.model_copy(update={"raw": raw}).kind == "book chapter"
    assert entry("moe2012", ["Moe, Max"], 2012, container="5th Congress of Pact Studies").kind == "conference paper"
    assert entry("poe2013", ["Poe, Pat"], 2013, container="Policy Paper 7", publisher="Pact Institute").kind == "report"
    assert [ENTRIES[k].kind for k in ("doe2009", "doe2017", "roe2017")] == [
        "book", "journal article", "web page or news item"
    ]
    assert kinds_named("which sources are chapters in edited collections?") == ("book chapter",)
    assert kinds_named("any conference papers or working papers?") == ("conference paper", "report")
    assert kinds_named("the peer-reviewed articles and the books") == ("journal article", "book")
    assert kinds_named("the 2017 ones, not counting journal articles", excluded=True) == ("journal article",)
    assert Shelf(years=(2017,), without=("book",)).criteria() == "published in 2017; not a book"


def test_a_work_by_et_al_has_more_than_one_author():
    moe = entry("moe2012", ["Moe, Max"], 2012, container="Pact Review", volume="2").model_copy(
        update={"label": "Moe et al. (2012)"}
    )
    assert Shelf(coauthored=True).matches(moe) and not Shelf(coauthored=True).matches(ENTRIES["doe2017"])
    assert Shelf(coauthored=True).criteria() == "with more than one author"


def test_the_count_line_states_how_many_works_match_and_by_which_fields(catalogue):
    shelf = Shelf(years=(2017,), kinds=("journal article",))
    found = catalogue.matching(shelf)
    assert catalogue.header(shelf, found) == (
        "1 of the 5 works in the article's bibliography match (published in 2017; a journal article):"
    )
    assert catalogue.header(Shelf(), list(ENTRIES.values())) == "The article's bibliography lists 5 works:"
    assert catalogue.header(Shelf(years=(2001,)), []).startswith("No work in the article's bibliography matches")
    by_kind = catalogue.asked("What kinds of sources from 2017 does it use?", topical)
    assert by_kind is not None and catalogue.header(by_kind, catalogue.matching(by_kind)) == (
        "2 of the 5 works in the article's bibliography match (published in 2017) — 1 journal article and 1 web page "
        "or news item:"
    )


def cards() -> dict[str, Passage]:
    return {
        k: Passage(id=f"s-{k}", kind="source_card", text=f"{e.raw}\n{e.label}. More about it.", section=e.label,
                   source_key=k)
        for k, e in ENTRIES.items()
    }


def test_a_few_works_are_quoted_whole_and_many_are_named_by_label_each_cited_to_its_entry(catalogue):
    few = entry_sentences([ENTRIES["doe2009"]], cards(), {})
    assert [s.text for s in few] == [ENTRIES["doe2009"].raw]
    cites = citations(few, ENTRIES)
    assert shelf_text("1 of 5 match:", cites, whole=3) == f"1 of 5 match: {ENTRIES['doe2009'].raw} [1]"
    many = citations(entry_sentences(list(ENTRIES.values()), cards(), {}), ENTRIES)
    text = shelf_text("The article's bibliography lists 5 works:", many, whole=3)
    assert text.endswith("Roe (2017) [4] and Writer (2015) [5].")
    assert all(c.quote == ENTRIES[c.sources[0].key].raw for c in many)


def test_a_follow_up_naming_a_field_narrows_the_listing_it_follows(catalogue):
    before = "Any 2017 sources?"
    narrowed = catalogue.asked("and which of those are news items?", topical, before)
    assert narrowed is not None and [e.key for e in catalogue.matching(narrowed)] == ["roe2017"]
    assert catalogue.asked("what year did that one come out?", topical, before) is None  # names no field: not a listing
    assert catalogue.asked("and the books from 2009?", topical, "What is the border tension about?") is None


def test_a_publisher_goes_by_its_acronym_only_when_the_rest_of_its_name_is_generic():
    from rag.catalogue import _variants

    assert "ACME" in _variants("ACME Press")
    assert "NDC" not in _variants("NDC Friends of Springfield")  # an outlet named after the subject is not the subject
    assert "NFS" in _variants("Northern Friends Society")  # initials of a three-word name
