"""The answer path's stages alone, with made-up questions and deterministic fakes (the real model and index are
exercised in test_api.py and test_reader.py)."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from index.types import CitationRef, Passage, SourceEntry
from rag.cite import AuthorName, Sentence
from rag.parts import subject_title, subject_words
from rag.policy import Policy, order, select
from rag.query import IntentModel, answer_type, is_bare_topic, normalise, parse, requested_count
from rag.read import FEATURES, Answerability, ReaderModel, Scored, own_works, stated_fields
from rag.refuse import Horizon, nearest, unrelated
from rag.text import counts_years, figures, has_amount, names_place, stated_figures

ROOT = Path(__file__).resolve().parents[1]
LAYERS = {"index", "rag", "ui", "eval"}


def fake_embed(texts: list[str]) -> list[np.ndarray]:
    """Word-length vectors: deterministic and different for different texts."""
    out = []
    for t in texts:
        v = np.zeros(384)
        for i, w in enumerate(t.split()):
            v[(len(w) * 7 + i) % 384] += 1.0
        out.append(v / np.linalg.norm(v))
    return out


NO_INTENTS = IntentModel((), np.zeros(0), np.zeros(0))


def read(question: str, history: list[dict[str, str]] | None = None, late=lambda years: False):
    return parse(question, history, fake_embed, NO_INTENTS, late)


@pytest.mark.parametrize(
    "asked, core",
    [
        ("ok so, can you tell me when the drills began?", "When the drills began?"),
        ("Thanks! quick q: who pays for the base", "Who pays for the base"),
        ("I am preparing a talk on pacts — what holds them together?", "What holds them together?"),
        ("so who basically pays for the base lol", "Who pays for the base"),
        ("the pact is older than the union, right?", "The pact is older than the union?"),
        ("What kind of units train there?", "What kind of units train there?"),  # "kind of" is no filler here
    ],
)
def test_openers_and_errands_are_dropped(asked, core):
    assert normalise(asked) == core


def test_a_follow_up_is_searched_with_the_question_it_follows():
    history = [{"role": "user", "content": "What is the alliance's drug operation?"},
               {"role": "assistant", "content": "It is called Channel."}]
    query = read("and when did it start?", history)
    assert query.followup and query.search == "What is the alliance's drug operation? And when did it start?"
    assert not read("What does the treaty's fourth article promise members?", history).followup


def test_a_follow_up_carries_the_words_of_the_answer_it_follows():
    history = [{"role": "user", "content": "What is the alliance's drug operation?"},
               {"role": "assistant", "content": "It is called Channel. [1]"}]
    assert set(read("and when did it start?", history).said) == {"call", "channel"}
    assert read("What does the treaty's fourth article promise members?", history).said == ()


@pytest.mark.parametrize(
    "asked, count", [("the gist in two sentences", 2), ("sum it up in 4 lines", 4), ("three key points?", 3),
                     ("summarize the paper", None)]
)
def test_how_many_sentences_a_summary_asks_for(asked, count):
    assert requested_count(asked) == count


@pytest.mark.parametrize(
    "asked, bare",
    [("the Northern Pact", True), ("Doe and Roe?", True), ("drills in 2009", True), ("What is the pact?", False),
     ("tell me about drills", False), ("the pact of the five northern states", False)],
)
def test_a_bare_topic_is_a_few_words_none_of_which_asks(asked, bare):
    assert is_bare_topic(asked) == bare and read(asked).bare == bare


def test_a_pronoun_opening_a_conversation_and_asking_only_fields_points_at_the_article():
    assert read("Who authored it?").text == "Who authored the article?"
    assert read("What is its headline?").text == "What is the article's headline?"
    assert read("Is it true that the pact failed?").text == "Is it true that the pact failed?"  # a topic
    history = [{"role": "user", "content": "What is the Doe report?"}, {"role": "assistant", "content": "A study."}]
    assert read("Who authored it?", history).text == "Who authored it?"  # "it" is the work just discussed


def test_summary_requests_and_late_years_set_the_intent():
    assert read("Give me the gist of the paper").intent == "summary"
    late = read("What happened to the bloc in 2031?", late=lambda years: any(y > 2020 for y in years))
    assert late.intent == "out_of_scope" and late.years == (2031,)


@pytest.mark.parametrize(
    "asked, summary",
    [
        ("gimme the tl;dr of the closing part pls", True),
        ("could u recap the opening section in 3 lines", True),
        ("what does the intro argue, short version?", True),
        ("Summarise the drills and their purpose.", False),  # a topic of its own: a question, asked briefly
        ("the pact's history in a nutshell", False),
        ("what was the writer's doctoral thesis about?", False),
    ],
)
def test_a_summary_is_of_the_article_or_a_part_unless_the_question_names_a_topic(asked, summary):
    known = {"drill", "purpos", "pact", "histori", "writer", "doctor", "conclus", "intro", "pls"}
    topical = lambda word: word in known and word != "pact"  # noqa: E731  # "pact": the article's own subject
    query = parse(asked, None, fake_embed, NO_INTENTS, lambda years: False, topical=topical)
    assert (query.intent == "summary") is summary


def test_the_subject_of_the_article_is_read_from_its_title_page():
    passages = {
        "t": _passage("t", "The article “The Northern Defence Pact: Old Habits” is by A. Writer.", section="Title"),
        "b": _passage("b", "The Northern Defence Pact (NDP) was signed in 2009.", start=100),
    }
    assert subject_words(passages) == {"northern", "defenc", "pact", "ndp"}
    assert subject_title(passages) == Horizon.of(passages).subject == "Northern Defence Pact"


@pytest.mark.parametrize(
    "asked, kind", [("In what year did the office open?", "year"), ("how many soldiers took part", "number"),
                    ("Why did the members hesitate?", None)]
)
def test_the_kind_of_answer_a_question_asks_for(asked, kind):
    assert answer_type(asked) == kind


@pytest.mark.parametrize(
    "text, amount", [("The pact was signed in 2009.", False), ("Some 4,000 troops took part in 2015.", True),
                     ("Three members hold a veto.", True), ("The office opened in March.", False)]
)
def test_an_amount_is_a_numeral_that_is_not_a_year_or_a_number_word(text, amount):
    assert has_amount(text) is amount


@pytest.mark.parametrize(
    "text, place", [("The secretariat is based in Vilnius.", True), ("Drills were held near the Caspian coast.", True),
                    ("In 2016, the members agreed to open a centre.", False), ("It is run by the Secretariat.", False)]
)
def test_a_place_is_a_capitalised_name_after_a_locative_preposition(text, place):
    assert names_place(text) is place


def test_the_figures_a_question_names_are_not_its_years_or_its_sentence_count():
    assert figures("What does Protocol 5 of the 2009 pact require, in 2-3 sentences?") == ("5",)
    assert figures("Name the 2 largest members in three points.") == ("2",)
    assert stated_figures("The two founders paid 51.1% in 2009.") >= {"2", "51.1"}


def test_a_question_asks_for_a_place_or_counts_years_by_its_words():
    assert read("Where is the secretariat based?").asks_place and read("Which city hosted the summit?").asks_place
    assert not read("When was the pact signed?").asks_place
    assert counts_years("How many years lay between the pact and its charter?") and not counts_years("How many troops?")


def _passage(pid: str, text: str, section: str = "Intro", start: int = 0) -> Passage:
    return Passage(id=pid, kind="article", text=text, section=section, paragraph=1, location=f"{section} › ¶1",
                   start=start, end=start + len(text))


def test_the_horizon_is_the_title_page_year_and_named_years_stay_in_scope():
    passages = {
        "t": _passage("t", "A journal, Issue 9 (2015/1)", section="Title"),
        "b": _passage("b", "The pact was signed in 2009 and revised in 2017.", start=100),
    }
    horizon = Horizon.of(passages)
    assert horizon.year == 2015
    assert horizon.after((2019,)) and not horizon.after((2017,)) and not horizon.after((2009,))


def _scored(sentences: list[tuple[str, float]], passage: Passage) -> list[Scored]:
    out, pos = [], 0
    for row, (text, prob) in enumerate(sentences):
        start = passage.text.index(text, pos)
        out.append(Scored(Sentence(passage, start, start + len(text), row), 0, np.zeros(len(FEATURES)), prob))
        pos = start + len(text)
    return sorted(out, key=lambda s: -s.prob)


def test_the_policy_keeps_the_best_first_and_adds_only_what_is_new_and_close_enough():
    text = "Drills train units. Drills train units often. Officers learn languages abroad. Weather was mild."
    p = _passage("p", text)
    scored = _scored([("Drills train units.", 0.9), ("Drills train units often.", 0.8),
                      ("Officers learn languages abroad.", 0.7), ("Weather was mild.", 0.1)], p)
    vectors = np.eye(4)
    policy = Policy(depth=8, redundant=0.9, novelty=0.5, budget={"fact": 2, "synthesis": 4, "summary": 3,
                    "max_summary": 8}, floor_abs={"fact": 0.5, "synthesis": 0.5}, floor_rel={"fact": 0.5,
                    "synthesis": 0.5})
    chosen = select(policy, "synthesis", scored, vectors, {})
    assert [s.text for s in chosen] == ["Drills train units.", "Officers learn languages abroad."]
    assert len(select(policy, "fact", scored, vectors, {})) == 2
    policy_one = Policy(8, 0.9, 0.5, {"fact": 1, "summary": 3, "max_summary": 8}, {"fact": 0.0}, {"fact": 0.0})
    assert [s.text for s in select(policy_one, "fact", scored, vectors, {})] == ["Drills train units."]
    # "... in two sentences": the count the question asks for is the budget, whatever the intent
    assert len(select(policy_one, "fact", scored, vectors, {}, count=2)) == 2


def test_a_question_asks_for_a_view_by_a_reporting_verb_not_by_asking_who_wrote_what():
    assert read("What does Doe contend about the pact?").asks_view and read("What is Doe's view?").asks_view
    assert read("What does Doe call the pact?").asks_view and read("How does Doe describe the drills?").asks_view
    assert not read("Did Doe write a book on the pact?").asks_view and not read("When was it held?").asks_view
    assert not read("Doe works at a think tank: which one?").asks_view
    assert not read("What is Doe's book called?").asks_view


def test_the_article_s_own_author_is_read_from_the_title_page_byline():
    title = _passage("t", "The article “Old Habits” is by Jane M. Doe. It was published in 2015.", section="Title")
    authors = [AuthorName("doe2012", "doe", "2012", False), AuthorName("roe2010", "roe", "2010", False)]
    assert own_works([title, _passage("b", "Roe (2010) is by far the best.")], authors) == {"doe2012"}


def _entry(key: str) -> SourceEntry:
    return SourceEntry(key=key, label="Doe (2017)", authors=["Doe, Jane"], organisation=False, year=2017,
                       title="Why Pacts Fail", raw="Doe, Jane (2017), Why Pacts Fail.", start=0, end=10)


def test_a_view_asked_of_a_named_author_is_quoted_from_a_sentence_citing_that_work():
    card = Passage(id="c", kind="source_card", text="Doe, Jane (2017), “Why Pacts Fail”, Pact Review.",
                   section="Doe (2017)", source_key="doe2017")
    text = "Pacts fail when members disagree. Doe holds that pacts fail for want of a common threat (Doe 2017, 4)."
    para = Passage(id="p", kind="article", text=text, section="Intro", paragraph=1, location="Intro › ¶1", start=0,
                   end=len(text), citations=[CitationRef(key="doe2017", surface="Doe 2017, 4",
                                                         start=text.index("Doe 2017"), end=len(text) - 2, pages="4")])
    scored = _scored([(card.text, 0.9)], card) + _scored([("Pacts fail when members disagree.", 0.8)], para)
    cite = text[text.index("Doe holds"):]
    scored.append(Scored(Sentence(para, text.index(cite), len(text), 2), 0, np.zeros(len(FEATURES)), 0.3))
    entries = {"doe2017": _entry("doe2017")}
    policy = Policy(8, 0.9, 0.5, {"fact": 1, "max_summary": 8}, {"fact": 0.0}, {"fact": 0.0})
    chosen = select(policy, "fact", scored, np.eye(3), entries, named={"doe2017": 1.0}, view=True)
    assert [s.text for s in chosen] == [cite]  # "what does Doe contend?"
    assert select(policy, "fact", scored, np.eye(3), entries, named={"doe2017": 1.0})[0].passage.kind == "source_card"


def test_a_card_holds_the_names_of_the_fields_its_entry_states():
    web = _entry("doe2017").model_copy(update={"container": "Pact Review", "date": "Dec 1, 2017", "url": "https://x.example"})
    book = _entry("doe2017").model_copy(update={"publisher": "Pact Press", "place": "Oxford"})
    assert {"titl", "call", "outlet", "date", "url", "piec"} <= stated_fields(web)  # "what is the Doe piece called?"
    assert {"titl", "publish"} <= stated_fields(book) and not {"date", "url", "outlet"} & stated_fields(book)


def test_a_question_related_to_no_candidate_as_much_as_any_answerable_dev_question_is_unrelated():
    para = _passage("p", "The pact was signed in 1992. Its members meet every year.")
    scored = _scored([("The pact was signed in 1992.", 0.9), ("Its members meet every year.", 0.4)], para)
    fitted = ReaderModel.untrained()
    fitted.answerability = Answerability(np.zeros(0), 0.0, 0.5, topic_floor=0.3)
    for s, cos in zip(scored, (0.1, 0.25), strict=True):
        s.features[FEATURES.index("cos_base")] = cos
    assert nearest(scored) == 0.25 and unrelated(fitted, scored)
    scored[1].features[FEATURES.index("cos_base")] = 0.35
    assert not unrelated(fitted, scored)
    assert not unrelated(ReaderModel.untrained(), [])  # no floor fitted: nothing is unrelated


def test_a_card_s_label_line_is_quoted_as_the_entry_it_abbreviates():
    entry = "Doe, Jane (2017), “Why Pacts Fail”, *Pact Review*, Dec 1, 2017."
    label = "Doe (2017). Doe, Jane (2017). Why Pacts Fail, Pact Review."
    card = Passage(id="c", kind="source_card", text=f"{entry}\n{label}", section="Doe (2017)", source_key="doe2017")
    scored = _scored([(entry, 0.5), (label, 0.9)], card)
    policy = Policy(8, 0.9, 0.5, {"bibliography": 2, "fact": 2, "max_summary": 8}, {"bibliography": 0.0},
                    {"bibliography": 0.0})
    chosen = select(policy, "bibliography", scored, np.eye(2), {})
    assert [s.text for s in chosen] == [entry]  # the date the label line lacks, and the entry only once


def test_a_why_answer_quotes_a_bibliography_card_only_when_the_question_names_its_work():
    card = Passage(id="c", kind="source_card", text="Doe, Jane (2017), “Why Pacts Fail”, Pact Review.",
                   section="Doe (2017)", source_key="doe2017")
    para = _passage("p", "The pact failed because its members never agreed on a common threat.")
    scored = _scored([(card.text, 0.6)], card) + _scored([(para.text, 0.4)], para)
    scored[1] = Scored(Sentence(para, 0, len(para.text), 1), 0, np.zeros(len(FEATURES)), 0.4)
    policy = Policy(8, 0.9, 0.5, {"fact": 2, "synthesis": 4, "summary": 3, "max_summary": 8},
                    {"synthesis": 0.0, "fact": 0.0}, {"synthesis": 0.0, "fact": 0.0}, frozenset({"synthesis"}))
    vectors = np.eye(2)
    assert [s.passage.kind for s in select(policy, "synthesis", scored, vectors, {})] == ["article"]
    named = select(policy, "synthesis", scored, vectors, {}, named={"doe2017"})
    assert named[0].passage.kind == "source_card"  # "why does Doe (2017) say pacts fail?" may quote its card
    assert select(policy, "fact", scored, vectors, {})[0].passage.kind == "source_card"  # a card can state a fact


def test_order_keeps_the_article_order_only_within_a_paragraph_after_the_best_sentence():
    a = _passage("a", "First. Second. Third.", start=0)
    b = _passage("b", "Other. Last.", start=50)
    a1, a2, a3 = Sentence(a, 0, 6, 0), Sentence(a, 7, 14, 1), Sentence(a, 15, 21, 2)
    b1, b2 = Sentence(b, 0, 6, 3), Sentence(b, 7, 12, 4)
    # the best sentence opens the answer, its paragraph-mates follow in the article's order, then the next paragraph
    assert [s.text for s in order([a2, b2, a3, a1, b1])] == ["Second.", "First.", "Third.", "Other.", "Last."]
    assert [s.text for s in order([b1, a3, a1])] == ["Other.", "First.", "Third."]
    assert order([]) == []


def _product_files() -> list[Path]:
    return [p for d in ("index", "rag", "ui", "eval") for p in (ROOT / d).glob("*.py")]


def test_no_stage_module_is_long_and_no_answer_path_function_over_60_lines():
    for path in _product_files():
        assert len(path.read_text().splitlines()) <= 400, path
    for path in (ROOT / "rag").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef):
                assert node.end_lineno - node.lineno < 60, f"{path.name}:{node.name}"


def test_no_import_cycles_among_the_project_modules():
    graph: dict[str, set[str]] = {}
    for path in _product_files():
        name = f"{path.parent.name}.{path.stem}"
        deps = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LAYERS:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps |= {a.name for a in node.names if a.name.split(".")[0] in LAYERS}
        graph[name] = {d for d in deps if d != name}
    state: dict[str, int] = {}

    def visit(n: str, path: list[str]) -> None:
        state[n] = 1
        for d in graph.get(n, ()):
            assert state.get(d) != 1, " -> ".join([*path, n, d])
            if d not in state:
                visit(d, [*path, n])
        state[n] = 2

    for n in graph:
        if n not in state:
            visit(n, [])


def test_layers_point_one_way():
    for layer, forbidden in (("index", ("rag", "ui", "eval")), ("rag", ("ui", "eval"))):
        for path in (ROOT / layer).glob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                if isinstance(node, ast.ImportFrom) and node.module:
                    assert node.module.split(".")[0] not in forbidden, f"{path}: {node.module}"


def test_the_cli_imports_only_rag_and_the_settings():
    """ui/cli.py is a thin adapter: rag, index.settings, its own page module, and the eval entry point (lazily)."""
    allowed = ("rag", "index.settings", "ui.app", "eval.cli")
    for node in ast.walk(ast.parse((ROOT / "ui" / "cli.py").read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] in LAYERS:
            assert node.module.startswith(allowed), node.module


def test_retrieval_searches_with_the_question_and_its_adapted_reading():
    model = ReaderModel.untrained()
    v = fake_embed(["where do the units train"])[0]
    assert np.allclose(model.retrieval_vector(v), v)  # no adapter fitted: the plain question vector
    model.adapter = np.roll(np.eye(384), 1, axis=1)  # a made-up adapter that moves every vector
    out = model.retrieval_vector(v)
    assert np.isclose(np.linalg.norm(out), 1.0)
    assert out @ v > model.adapt(v) @ v  # between the plain vector and its adapted reading
