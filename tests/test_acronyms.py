"""Acronyms the article defines: both forms reach BM25, and sentence vectors carry the long form."""

from index.acronyms import acronyms, aliases, called_by_part, expand, gloss

TEXTS = [
    "Analysts look to the Shanghai Cooperation Organization (SCO) instead.",
    "Another body is the CSTO's Collective Rapid Reaction Forces (CRRF) or KSOR.",
    "The Collective Security Treaty Organization (CSTO) was founded in 1992.",
    "The CSTO holds exercises.",
    "The CSTO has members.",
    "Tables (ABC) without a long form are ignored.",
]


def test_defined_acronyms_are_found_by_their_initials() -> None:
    table = acronyms(TEXTS)
    assert table["SCO"] == "Shanghai Cooperation Organization"
    assert table["CRRF"] == "Collective Rapid Reaction Forces"  # the longest run whose initials spell it
    assert "ABC" not in table
    assert "CSTO" not in table  # named in a third of the texts or more: the corpus's subject, not a lookup


def test_expand_adds_the_missing_form_only() -> None:
    table = acronyms(TEXTS)
    assert expand("When did the SCO come into force?", table).endswith("Shanghai Cooperation Organization")
    assert expand("What is the Shanghai Cooperation Organization?", table).endswith(" SCO")
    assert expand("What is the SCO, the Shanghai Cooperation Organization?", table) == (
        "What is the SCO, the Shanghai Cooperation Organization?"
    )
    assert expand("Who is in the alliance?", table) == "Who is in the alliance?"
    # a long form called by its first word(s) and a word for a body gets both forms
    assert expand("Who is in the Shanghai bloc?", table).endswith(" Shanghai Cooperation Organization SCO")
    assert called_by_part("the collective rapid group", "Collective Rapid Reaction Forces")
    assert not called_by_part("the Shanghai Cooperation", "Shanghai Cooperation Organization")


def test_gloss_appends_long_forms_of_bare_acronyms() -> None:
    table = acronyms(TEXTS)
    assert gloss("The SCO came into force in 2003.", table) == (
        "The SCO came into force in 2003. (Shanghai Cooperation Organization)"
    )
    assert gloss("Nothing to expand.", table) == "Nothing to expand."


def test_aliases_give_the_foreign_name_and_acronym_of_a_defined_name() -> None:
    text = (
        "The Collective Security Treaty Organization (CSTO) or *Organizacija Dogovora o Kollektivnoj "
        "Bezopasnosti* (ODKB) is an alliance. Another body is the CSTO's Collective Rapid Reaction Forces (CRRF) or "
        "*Kollektivnyye sily operativnogo reagirovaniya* (KSOR). The Shanghai Cooperation Organization (SCO) or "
        "the SCO has no foreign name here."
    )
    assert aliases(text) == [
        (
            "Collective Security Treaty Organization",
            "CSTO",
            "Organizacija Dogovora o Kollektivnoj Bezopasnosti",
            "ODKB",
        ),
        ("Collective Rapid Reaction Forces", "CRRF", "Kollektivnyye sily operativnogo reagirovaniya", "KSOR"),
    ]
