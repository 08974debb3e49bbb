"""The article's structure, its 41 bibliography entries and every in-text citation, checked over the shipped text."""

from __future__ import annotations

import pytest

from index.article import parse_article, split_sentences
from index.bibliography import parse_bibliography
from index.corpus import load_corpus
from index.settings import ARTICLE_FILE

# Every in-text citation of the article, as the reader resolves it: (passage location, entry key, pages, surface).
# Narrative mentions and their bare page ("Nikitina (2012) ... (51)") appear as two rows with the same page.
EXPECTED_CITATIONS = [
    ("Introduction › ¶2", "sucu2017", "132", "Sucu 2017, 132"),
    ("Introduction › ¶2", "mrvaljevic2015", "", "Mrvaljevic 2015"),
    ("Introduction › ¶2", "hayrapetyan2016", "", "Hayrapetyan 2016"),
    ("Philosophy › ¶2", "ccsto2002", "", "the CSTO Charter"),
    ("Philosophy › ¶2", "nato1949", "", "Article 3 of the North Atlantic Treaty"),
    ("Philosophy › ¶3", "lacroix2016", "", "Lacroix 2016"),
    ("Philosophy › ¶3", "oliker2009", "102", "Oliker et al 2009, 102"),
    ("Philosophy › ¶3", "macias2018", "", "Macias, 2018"),
    ("Philosophy › ¶4", "gibler2006", "414", "Gibler and Sewell 2006, 414"),
    ("Philosophy › ¶4", "nato1949", "", "the 1949 North Atlantic Treaty"),
    ("Philosophy › ¶4", "gheciu2005", "974", "Gheciu (2005)"),
    ("Philosophy › ¶4", "gheciu2005", "974", "(974)"),
    ("Philosophy › ¶5", "nikitina2012", "51", "Nikitina (2012)"),
    ("Philosophy › ¶5", "nikitina2012", "51", "(51)"),
    ("Philosophy › ¶5", "oliker2009", "101", "Oliker et al, 101"),
    ("Philosophy › ¶6", "buzan2003", "23-25", "Buzan and Wæver (2003)"),
    ("Philosophy › ¶6", "buzan2003", "23-25", "(23-25)"),
    ("Philosophy › ¶7", "allison2018", "297", "Allison (2018)"),
    ("Philosophy › ¶7", "allison2018", "297", "(297)"),
    ("Philosophy › ¶7", "allison2018", "98", "Allison, 98"),
    ("Internal Challenges › ¶1", "matveeva2013", "489", "Matveeva 2013, 489"),
    ("Internal Challenges › ¶1", "baev2014", "42", "Baev 2014, 42"),
    ("Internal Challenges › ¶3", "weitz2018", "25", "Weitz 2018, 25"),
    ("Internal Challenges › ¶3", "buzan2003", "24", "Buzan and Wæver, 24"),
    ("Internal Challenges › ¶4", "buzan2003", "23", "Buzan and Wæver, 23"),
    ("Internal Challenges › ¶4", "shakhanova2017", "49", "Shakhanova (2017)"),
    ("Internal Challenges › ¶4", "shakhanova2017", "49", "(49)"),
    ("Internal Challenges › ¶5", "aris2016", "5", "Aris (2010)"),
    ("Internal Challenges › ¶5", "aris2016", "5", "(5)"),
    ("Internal Challenges › ¶6", "shakhanova2017", "48", "Shakhanova, 48"),
    ("Internal Challenges › ¶6", "stratfor2012", "", "Stratfor 2012"),
    ("Internal Challenges › ¶6", "allison2018", "309", "Allison"),
    ("Internal Challenges › ¶6", "allison2018", "309", "(309)"),
    (
        "Internal Challenges › i: Internal Problems Leading to an Outside Consideration › ¶1",
        "matveeva2013",
        "489",
        "Matveeva, 489",
    ),
    (
        "Internal Challenges › i: Internal Problems Leading to an Outside Consideration › ¶1",
        "buzan2003",
        "28",
        "Buzan and Wæver, 28",
    ),
    (
        "Internal Challenges › i: Internal Problems Leading to an Outside Consideration › ¶1",
        "allison2018",
        "325",
        "Allison, 325",
    ),
    (
        "Internal Challenges › i: Internal Problems Leading to an Outside Consideration › ¶2",
        "shakhanova2017",
        "47",
        "Shakhanova, 47",
    ),
    (
        "Internal Challenges › i: Internal Problems Leading to an Outside Consideration › ¶2",
        "weitz2018",
        "73",
        "Weitz, 73",
    ),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶1", "weitz2018", "xii", "Weitz, xii"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶1", "shakhanova2017", "47", "Shakhnova"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶1", "shakhanova2017", "47", "(47)"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶2", "aris2016", "9", "Aris 2016, 9"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶3", "dehaas2017", "1", "de Haas, 1"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶3", "barabanov2018", "", "Barabanov 2018"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶3", "bohdan2014", "10", "Bohdan 2014, 10"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶3", "bohdan2018", "", "Bohdan, 2018"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶4", "allison2018", "329", "Allison"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶4", "allison2018", "329", "(329)"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶4", "allison2018", "331", "Allison, 331"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶5", "dehaas2017", "12", "de Haas"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶5", "dehaas2017", "12", "(12)"),
    ("Internal Challenges › ii: Issues with Russian Leadership › ¶5", "shakhanova2017", "45", "Shakhanova, 45"),
    ("Why States Stay? › ¶2", "barabanov2018", "", "Barabanov"),
    ("Why States Stay? › ¶2", "weitz2018", "62", "Weitz"),
    ("Why States Stay? › ¶2", "weitz2018", "62", "(62)"),
    ("Why States Stay? › ¶3", "burchill2018", "21", "Burchill and Karpauskaite (2018)"),
    ("Why States Stay? › ¶3", "burchill2018", "21", "(21)"),
    ("Why States Stay? › ¶4", "burchill2018", "21", "Burchill and Karpauskaite, 21"),
    ("Why States Stay? › ¶5", "dehaas2017", "5", "de Haas, 5"),
    ("Why States Stay? › ¶5", "kazinform2019", "", "KazInform, 2019"),
    ("Why States Stay? › ¶5", "dehaas2017", "5-6", "de Haas, 5-6"),
    ("Why States Stay? › ¶6", "ramani2017", "", "Ramani, 2017"),
    ("Why States Stay? › ¶7", "tass2016", "", "TASS, 2016"),
    ("Why States Stay? › ¶7", "shraibman2019", "", "Shraibman, 2019"),
    ("Why States Stay? › ¶8", "shirinyan2017", "", "Shirinyan, 2017"),
    ("Why States Stay? › ¶8", "malek2008", "31", "Malek 2008, 31"),
    ("Current Objectives and Future Endeavors › ¶1", "khalatyan2017", "", "Khalatyan, 2017"),
    (
        "Current Objectives and Future Endeavors › i: Traditional Security Threats › ¶2",
        "shakhanova2017",
        "49",
        "Shakhanova",
    ),
    ("Current Objectives and Future Endeavors › i: Traditional Security Threats › ¶2", "shakhanova2017", "49", "(49)"),
    (
        "Current Objectives and Future Endeavors › i: Traditional Security Threats › ¶3",
        "mdrf2018",
        "",
        "Ministry of Defense of the Russian Federation, 2018",
    ),
    (
        "Current Objectives and Future Endeavors › i: Traditional Security Threats › ¶4",
        "kucera2017",
        "",
        "Kucera, 2017",
    ),
    ("Current Objectives and Future Endeavors › i: Traditional Security Threats › ¶5", "csto2019b", "", "CSTO, 2019b"),
    ("Current Objectives and Future Endeavors › i: Traditional Security Threats › ¶5", "csto2016", "", "CSTO, 2016"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶2", "tass2019", "", "TASS, 2019"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶3", "unodc2018", "", "UNODC 2018"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶4", "csto2019c", "", "CSTO, 2019c"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶4", "csto2019c", "", "CSTO, 2019c"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶5", "csto2019a", "", "CSTO, 2019a"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶5", "weitz2018", "12", "Weitz, 12"),
    ("Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶5", "csto2019d", "", "CSTO, 2019d"),
    (
        "Current Objectives and Future Endeavors › ii: Expanding Securitization › ¶6",
        "nikitin2014",
        "4",
        "Nikitin 2014, 4",
    ),
]


@pytest.fixture(scope="module")
def corpus():
    return load_corpus(ARTICLE_FILE)


def test_front_matter_and_headings():
    a = parse_article(ARTICLE_FILE)
    assert a.title.startswith("THE COLLECTIVE SECURITY TREATY ORGANIZATION")
    assert a.journal == "INTERNATIONAL JOURNAL OF RUSSIAN STUDIES"
    assert a.issue == "ISSUE NO. 9 (2020/1)" and a.issn == "2158-7051"
    assert a.author == "RÉJEANNE M. LACROIX"
    assert "University of Leicester" in a.affiliation
    assert a.keywords == [
        "CSTO",
        "Military Alliance",
        "Post-Soviet Space",
        "Regional Security",
        "Russian Defense Policy",
    ]
    assert [h.text for h in a.headings] == [
        "Introduction",
        "Philosophy",
        "Internal Challenges",
        "i: Internal Problems Leading to an Outside Consideration",
        "ii: Issues with Russian Leadership",
        "Why States Stay?",
        "Current Objectives and Future Endeavors",
        "i: Traditional Security Threats",
        "ii: Expanding Securitization",
    ]
    assert len(a.paragraphs) == 45


def test_page_break_halves_joined():
    a = parse_article(ARTICLE_FILE)
    joined = [p for p in a.paragraphs if p.joins]
    assert len(joined) == 6
    texts = " ".join(p.text for p in joined)
    for seam in [
        "the ambition to preserve the systemic status quo",
        "member states in one framework",
        "balancing military dependence",
        "a common history and strategic culture",
        "apparent in the alliance's reaction",
        "blocking illegal drug smuggling from Afghanistan",
    ]:
        assert seam in texts
    for p in a.paragraphs:  # offsets map back to the file on both sides of each seam
        assert a.raw[p.start : p.start + 30] == p.text[:30]
        assert a.raw[p.file_offset(len(p.text) - 30) : p.end] == p.text[-30:]


def test_no_heading_inside_a_passage(corpus):
    headings = {h.text for h in corpus.article.headings} | {"Bibliography", "Summary"}
    for p in corpus.passages:
        if p.kind == "article":
            for line in p.text.split("\n"):
                assert line.strip() not in headings


def test_passage_offsets_point_into_the_file(corpus):
    raw = corpus.article.raw
    for p in corpus.passages:
        if p.kind == "article" and p.section not in ("Title", "About the author"):
            assert raw[p.start : p.start + 25] == p.text[:25]


def test_ids_stable_and_unique():
    a, b = load_corpus(ARTICLE_FILE), load_corpus(ARTICLE_FILE)
    assert [p.id for p in a.passages] == [p.id for p in b.passages]
    assert len({p.id for p in a.passages}) == len(a.passages)


def test_41_entries_with_fields():
    es = {e.key: e for e in parse_bibliography(parse_article(ARTICLE_FILE).bibliography_blocks)}
    assert len(es) == 41
    w = es["weitz2018"]
    assert (w.label, w.year, w.publisher, w.place) == (
        "Weitz (2018)",
        2018,
        "Strategic Studies Institute",
        "Carlisle Barracks, PA",
    )
    assert w.title == "Assessing the Collective Security Treaty Organization: Capabilities and Vulnerabilities"
    s = es["shakhanova2017"]
    assert (s.container, s.volume, s.pages, s.label) == ("East-West Studies", "8", "45-52", "Shakhanova (2017)")
    al = es["allison2018"]
    assert (al.container, al.volume, al.issue, al.pages) == (
        "The Chinese Journal of International Politics",
        "11",
        "3",
        "297-338",
    )
    g = es["gheciu2005"]
    assert g.title == "Security Institutions as Agents of Socialization? NATO and the 'New Europe'"
    assert (g.container, g.volume, g.pages) == ("International Organization", "59", "973-1012")
    assert es["shraibman2019"].url == "https://belarusfeed.com/insights-belarus-russia-unions-cis-csto-union-state/"
    for suffix in "abcd":
        e = es[f"csto2019{suffix}"]
        assert e.organisation and e.authors == ["Collective Security Treaty Organization"] and e.year_suffix == suffix
    assert es["csto2019c"].title == 'The CSTO agreed on a plan for the operation of "Illegal-2019"'
    assert es["oliker2009"].label == "Oliker et al. (2009)"
    assert es["buzan2003"].label == "Buzan and Wæver (2003)"
    assert es["buzan2003"].authors == ["Buzan, Barry", "Ole Wæver"]
    assert es["dehaas2017"].family == "de Haas"
    assert es["macias2018"].title.startswith("The US Spent $686 Billion")
    assert (
        es["baev2014"].publisher == "Silk Road Studies Institute"
        and "Putin's Grand Strategy" in es["baev2014"].container
    )
    assert es["unodc2018"].authors == ["United Nations Office on Drugs and Crime"]
    assert es["mdrf2018"].authors == ["Ministry of Defence of the Russian Federation"]
    assert es["kazinform2019"].date == "June 28, 2019"
    assert all(e.title and e.year and e.raw for e in es.values())
    urls = [e for e in es.values() if e.url]
    assert len(urls) == 25 and all(e.url.startswith("http") and " " not in e.url for e in urls)


def test_every_citation_resolved_with_pages(corpus):
    found = [
        (p.location, c.key, c.pages, c.surface) for p in corpus.passages if p.kind == "article" for c in p.citations
    ]
    assert found == EXPECTED_CITATIONS
    assert corpus.warnings == []


def test_misprints_and_aliases_resolve(corpus):
    by_surface = {c.surface: c.key for p in corpus.passages if p.kind == "article" for c in p.citations}
    assert by_surface["Shakhnova"] == "shakhanova2017"
    assert by_surface["Aris (2010)"] == "aris2016"
    assert by_surface["UNODC 2018"] == "unodc2018"
    assert by_surface["Ministry of Defense of the Russian Federation, 2018"] == "mdrf2018"
    assert by_surface["KazInform, 2019"] == "kazinform2019"
    assert by_surface["the CSTO Charter"] == "ccsto2002"
    assert by_surface["the 1949 North Atlantic Treaty"] == "nato1949"


def test_source_cards_list_citing_passages(corpus):
    cards = {p.source_key: p for p in corpus.passages if p.kind == "source_card"}
    assert len(cards) == 41
    assert "Cited in the article" in cards["weitz2018"].text and "(p. 25)" in cards["weitz2018"].text
    # the card's reference line names a person's work twice (label, then full name) and an organisation's once
    assert "\nWeitz (2018). Weitz, Richard (2018). Assessing the Collective" in cards["weitz2018"].text
    assert "\nTASS Russian News Agency (2019). Post-Soviet Bloc" in cards["tass2019"].text


def test_sentence_splitter_keeps_abbreviations():
    spans = split_sentences("Oliker et al. wrote it. Then (Weitz, xii) said “no.” Next one.")
    text = "Oliker et al. wrote it. Then (Weitz, xii) said “no.” Next one."
    assert [text[s:e] for s, e in spans] == ["Oliker et al. wrote it.", "Then (Weitz, xii) said “no.”", "Next one."]


def test_shipped_article_is_the_supplied_file():
    import hashlib

    digest = hashlib.sha256(ARTICLE_FILE.read_bytes()).hexdigest()
    assert digest == "1c71c1afebe237a3b6980514698d0c0b40844bd1475da9b7e6ec0d37bc0e36d7"
