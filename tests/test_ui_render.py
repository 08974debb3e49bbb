"""The page's formatting helpers on hand-made answers: highlight, anchors, refusals, sources filter, feedback."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime

from index.types import Passage, SourceEntry
from rag.types import Answer, Citation, CitingPassage, ScoredPassage, SourceRef, SourceView
from ui.render import (
    NOT_IN_SOURCES,
    PENDING,
    Turn,
    answer_markdown,
    api_history,
    chat_messages,
    citations_html,
    feedback_record,
    filter_sources,
    highlight_passage,
    question_markdown,
    sources_html,
    turn_of_message,
)

TEXT = "Before <b>tag</b> & co. The *Kanal* operation is a success <script>x</script>. After it."
QUOTE = "The *Kanal* operation is a success <script>x</script>."


def _entry(key: str, label: str, title: str, url: str = "", container: str = "") -> SourceEntry:
    return SourceEntry(key=key, label=label, authors=[label.split(" ")[0] + ", A."], organisation=False,
                       year=int(label[-5:-1]), title=title, container=container, url=url, raw=title, start=0, end=1)


def _citation(n: int = 1, text: str = TEXT, quote: str = QUOTE, sources: list[SourceRef] | None = None) -> Citation:
    start = text.find(quote)
    return Citation(n=n, passage_id=f"a-{n}", kind="article", section="Intro", paragraph=3,
                    location="Intro › ¶3", quote=quote, quote_start=start, quote_end=start + len(quote), text=text,
                    sources=sources or [])


def _answer(citations: list[Citation]) -> Answer:
    return Answer(question="q?", text=" ".join(f"{c.quote} [{c.n}]" for c in citations), citations=citations)


def _passage(pid: str, text: str, paragraph: int = 1) -> Passage:
    return Passage(id=pid, kind="article", text=text, section="Why States Stay?", paragraph=paragraph)


WORK = SourceRef(key="shakhanova2017", label="Shakhanova (2017)", authors=["Shakhanova, G."], year="2017",
                 pages="49", title="The Architecture of Security",
                 reference="The Architecture of Security, East-West Studies 8: 45–52",
                 url="https://example.org/a?b=1&c=2")


def test_highlight_wraps_exactly_the_quote_and_escapes_everything() -> None:
    out = highlight_passage(_citation())
    assert out.count("<mark>") == 1
    marked = re.search(r"<mark>(.*)</mark>", out).group(1)
    assert marked == "The <em>Kanal</em> operation is a success &lt;script&gt;x&lt;/script&gt;."
    assert out.startswith("Before &lt;b&gt;tag&lt;/b&gt; &amp; co. <mark>")
    assert out.endswith("</mark> After it.")
    assert "<script>" not in out and "<b>" not in out


def test_highlight_uses_offsets_not_the_first_match() -> None:
    text = "Same sentence. Other. Same sentence."
    c = Citation(n=1, passage_id="p", kind="article", section="S", paragraph=1, location="S › ¶1",
                 quote="Same sentence.", quote_start=22, quote_end=36, text=text)
    assert highlight_passage(c) == "Same sentence. Other. <mark>Same sentence.</mark>"


def test_highlight_falls_back_to_finding_the_quote_when_offsets_are_wrong() -> None:
    c = _citation().model_copy(update={"quote_start": 0, "quote_end": 5})
    assert "<mark>The <em>Kanal</em>" in highlight_passage(c)
    lost = _citation().model_copy(update={"quote": "not there", "quote_start": 500, "quote_end": 600})
    assert "<mark>" not in highlight_passage(lost)


def test_answer_markers_become_anchors_to_their_panel_items() -> None:
    answer = _answer([_citation(1), _citation(2, quote="After it.")])
    md = answer_markdown(answer, turn=3)
    assert '<a href="#cite-3-1" class="cite-ref"' in md and ">[1]</a>" in md
    assert '<a href="#cite-3-2" class="cite-ref"' in md and ">[2]</a>" in md
    assert "<script>" not in md and "&#60;script&#62;" in md  # Markdown-neutral (ui.render.md_text)
    panel = citations_html([Turn("a"), Turn("b"), Turn("q?", answer=answer, done=True)])
    assert 'id="cite-3-1"' in panel and 'id="cite-3-2"' in panel


def test_every_marker_of_every_sentence_is_kept() -> None:
    answer = _answer([_citation(1), _citation(2, quote="After it."), _citation(3, quote="Before")])
    md = answer_markdown(answer, 1)
    assert [int(n) for n in re.findall(r">\[(\d+)\]</a>", md)] == [1, 2, 3]


def test_panel_item_lists_location_passage_and_cited_works_with_link() -> None:
    answer = _answer([_citation(1, sources=[WORK])])
    panel = citations_html([Turn("q?", answer=answer, done=True)])
    assert "Intro › ¶3" in panel
    assert "<mark>" in panel
    assert "<b>Shakhanova (2017)</b>, p. 49" in panel
    assert "East-West Studies 8: 45–52" in panel
    assert 'href="https://example.org/a?b=1&amp;c=2"' in panel


def test_panel_shows_newest_turn_open_and_older_ones_folded() -> None:
    t1 = Turn("first?", answer=_answer([_citation(1)]), done=True)
    t2 = Turn("second?", answer=_answer([_citation(1)]), done=True)
    panel = citations_html([t1, t2])
    assert panel.index("Q2: second?") < panel.index("Q1: first?")
    assert '<details class="turn" id="turn-2" data-state="done" open>' in panel
    assert '<details class="turn" id="turn-1" data-state="done">' in panel
    assert 'data-state="streaming"' in citations_html([Turn("q", answer=_answer([_citation(1)]))])
    assert "Ask a question" in citations_html([])


def test_refusal_is_plain_and_lists_the_closest_passages() -> None:
    closest = [ScoredPassage(passage=_passage(f"a-{i}", f"Passage number {i} <i>", i), score=0.5 - i / 10, rank=i)
               for i in range(1, 8)]
    answer = Answer(question="q?", text="The indexed sources don't say “x”. The closest passages are listed below.",
                    refused=True, closest=closest[:5], retrieved=closest)
    md = answer_markdown(answer, 1)
    assert md.startswith(f"**{NOT_IN_SOURCES}.**")
    assert "cite-ref" not in md
    panel = citations_html([Turn("q?", answer=answer, done=True)], top_k=3)
    assert NOT_IN_SOURCES in panel
    assert panel.count('<li class="closest">') == 3
    assert "Passage number 1 &lt;i&gt;" in panel and "Why States Stay? › ¶1" in panel


def test_chat_messages_pair_each_question_with_its_reply() -> None:
    turns = [Turn("When?", answer=_answer([_citation(1)]), done=True), Turn("x" * 20_000, error="too long"),
             Turn("pending?"), Turn("")]
    msgs = chat_messages(turns)
    assert [m["role"] for m in msgs] == ["user", "assistant"] * 4
    assert "cite-1-1" in msgs[1]["content"]
    assert msgs[3]["content"] == "⚠️ too long"
    assert "20,000 characters" in msgs[2]["content"] and len(msgs[2]["content"]) < 600
    assert msgs[5]["content"] == PENDING
    assert msgs[6]["content"] == "_(empty question)_"
    assert turn_of_message(3) == 1 and turn_of_message([5, 0]) == 2


def test_question_markdown_escapes_and_shows_control_characters() -> None:
    assert question_markdown("a\x00b <i>") == "a\ufffdb &#60;i&#62;"


def test_api_history_keeps_answered_turns_only_as_plain_text() -> None:
    ok = Turn("What is Kanal?", answer=_answer([_citation(1)]), done=True)
    turns = [ok, Turn("\x00bad", error="control characters"), Turn("next?")]
    assert api_history(turns) == [{"role": "user", "content": "What is Kanal?"},
                                  {"role": "assistant", "content": ok.answer.text}]


def _views() -> list[SourceView]:
    weitz = _entry("weitz2018", "Weitz (2018)", "Assessing the Collective Security Treaty Organization")
    shak = _entry("shakhanova2017", "Shakhanova (2017)", "The Architecture of Security", url="https://example.org/s",
                  container="East-West Studies")
    citing = CitingPassage(passage_id="a-1", location="Internal Challenges › ¶3", pages="25",
                           sentence="Central Asia emerged (Weitz 2018, 25).")
    return [SourceView(entry=weitz, citing=[citing], fulltext_indexed=False),
            SourceView(entry=shak, citing=[], fulltext_indexed=True)]


def test_sources_filter_matches_label_title_venue_and_citing_sentences() -> None:
    views = _views()
    assert [v.entry.key for v in filter_sources(views, "")] == ["weitz2018", "shakhanova2017"]
    assert [v.entry.key for v in filter_sources(views, "WEITZ")] == ["weitz2018"]
    assert [v.entry.key for v in filter_sources(views, "east-west")] == ["shakhanova2017"]
    assert [v.entry.key for v in filter_sources(views, "central asia")] == ["weitz2018"]
    assert filter_sources(views, "weitz architecture") == []


def test_sources_html_shows_citing_passages_pages_and_fulltext_status() -> None:
    out = sources_html(_views(), "weitz")
    assert "1 of 2 works" in out
    assert "<b>Weitz (2018)</b>" in out and "Shakhanova" not in out
    assert "Internal Challenges › ¶3" in out and "(p. 25)" in out
    assert "bibliography entry only" in out
    full = sources_html(_views())
    assert "full text indexed" in full and 'href="https://example.org/s"' in full
    assert "No work matches “&lt;zz&gt;”" in sources_html(_views(), "<zz>")


def test_feedback_record_is_json_with_the_citations() -> None:
    c = _citation(1, sources=[WORK])
    turn = Turn("Who?", answer=_answer([c]), done=True)
    rec = feedback_record(turn, helpful=False, now=datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))
    assert rec["timestamp"] == "2026-01-02T03:04:05+00:00"
    assert rec["question"] == "Who?" and rec["helpful"] is False
    assert rec["answer"] == turn.answer.text
    assert rec["citations"] == [{"n": 1, "passage_id": "a-1", "quote": QUOTE}]
    assert json.loads(json.dumps(rec)) == rec
