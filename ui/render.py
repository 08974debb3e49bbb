"""Pure formatting for the chat page: chat messages with [n] anchors, the citations panel, the sources list, feedback.

Nothing here touches Gradio, the index or the network, so every helper is unit-testable on hand-made Answers.

Text from the sources (answers, quotes, passages, titles) and the user's own question is shown as text: in the chat
(Markdown) every character Markdown or an autolinker could read as syntax becomes a numeric character reference
(`md_text`), which CommonMark never reads as structure, so `![x](http://host/p.png)` shows as those characters and
loads nothing; in the panels (HTML) it is HTML-escaped. The only links are the ones made here: [n] markers and the
bibliography's own URLs.
A conversation is a list of `Turn`s; turn t (1-based) anchors its markers as `#cite-t-n` and its panel items carry
`id="cite-t-n"`, so a marker in an older message still points at its own citation.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rag.types import Answer, Citation, ScoredPassage, SourceRef, SourceView

NOT_IN_SOURCES = "Not in the sources"
PENDING = "_Searching the article…_"
SHOWN_QUESTION_CHARS = 400

_EMPHASIS = re.compile(r"\*([^*\n]+)\*")
_ANSWER_TOKENS = re.compile(r"\[(\d+)\]|\*([^*\n]+)\*")  # a citation marker, or the article's *emphasis*
# Markdown syntax, HTML, autolinks (http://, www., user@host), tables, maths ($$), emoji shortcodes (:x:)
_MD_TABLE = {ord(ch): f"&#{ord(ch)};" for ch in "\\`*_{}[]()#+-.!|~:@$<>&\"'=%^"}


@dataclass(frozen=True)
class Turn:
    """One exchange of the conversation: the question as typed, then the answer or a one-line error."""

    question: str
    answer: Answer | None = None
    error: str = ""
    done: bool = False

    @property
    def ok(self) -> bool:
        """True when the turn produced an answer (cited or refused) without error."""
        return self.answer is not None and not self.error


# --- small pieces ---------------------------------------------------------------------------------------------------


def _esc(text: str) -> str:
    return html.escape(text, quote=True)


def md_text(text: str) -> str:
    """Text for a Markdown message that renders as exactly these characters: no link, image, emphasis or HTML."""
    return text.translate(_MD_TABLE)


def _inline(text: str) -> str:
    """Escape text and turn the article's *emphasis* into <em>."""
    return _EMPHASIS.sub(r"<em>\1</em>", _esc(text))


def cite_id(turn: int, n: int) -> str:
    """The DOM id of citation n of turn t (1-based)."""
    return f"cite-{turn}-{n}"


def _printable(text: str) -> str:
    return "".join(ch if ch.isprintable() or ch in "\n\t" else "\ufffd" for ch in text)


def question_markdown(question: str) -> str:
    """The user's message as shown: escaped, control characters made visible, very long input shortened."""
    if not question.strip():
        return "_(empty question)_"
    shown = _printable(question)
    if len(shown) > SHOWN_QUESTION_CHARS:
        shown = f"{shown[:SHOWN_QUESTION_CHARS]}… ({len(question):,} characters)"
    return md_text(shown)


def highlight_passage(citation: Citation) -> str:
    """The passage text, HTML-escaped, with the quoted sentence wrapped in <mark>."""
    text, start, end = citation.text, citation.quote_start, citation.quote_end
    if not (0 <= start < end <= len(text)) or (citation.quote and text[start:end] != citation.quote):
        found = text.find(citation.quote) if citation.quote else -1
        if found < 0:
            return _inline(text)
        start, end = found, found + len(citation.quote)
    return f"{_inline(text[:start])}<mark>{_inline(text[start:end])}</mark>{_inline(text[end:])}"


def source_ref_html(ref: SourceRef) -> str:
    """A cited work: label, pages, title and venue, and a link when the bibliography gives a URL."""
    pages = f", {'pp.' if '-' in ref.pages or '–' in ref.pages else 'p.'} {_esc(ref.pages)}" if ref.pages else ""
    link = (f' <a href="{_esc(ref.url)}" target="_blank" rel="noopener noreferrer">link ↗</a>'
            if ref.url.startswith(("http://", "https://")) else "")
    return (f'<li class="work"><b>{_esc(ref.label)}</b>{pages} — {_inline(ref.reference or ref.title)}'
            f"{link}</li>")


# --- the chat -------------------------------------------------------------------------------------------------------


def answer_markdown(answer: Answer, turn: int) -> str:
    """The answer as chat markdown: escaped text whose [n] markers are links to the panel items."""
    if answer.refused:
        text = answer.text.replace("listed below", "listed in the Citations panel")
        body = f"**{NOT_IN_SOURCES}.** {md_text(text)}"
    else:
        known = {c.n for c in answer.citations}
        pieces, pos = [], 0
        for m in _ANSWER_TOKENS.finditer(answer.text):
            pieces.append(md_text(answer.text[pos : m.start()]))
            if m.group(2) is not None:
                pieces.append(f"<em>{md_text(m.group(2))}</em>")
            elif int(m.group(1)) in known:
                ref = cite_id(turn, int(m.group(1)))
                pieces.append(f'<a href="#{ref}" class="cite-ref" data-cite="{ref}">[{m.group(1)}]</a>')
            else:
                pieces.append(md_text(m.group(0)))
            pos = m.end()
        body = "".join([*pieces, md_text(answer.text[pos:])])
    if answer.notice:
        body += f"\n\n_Note: {md_text(answer.notice)}_"
    return body


def turn_reply(turn: Turn, number: int) -> str:
    """The assistant's message for a turn: pending, an error line, a refusal or the cited answer."""
    if turn.error:
        return f"⚠️ {md_text(turn.error)}"
    if turn.answer is None:
        return PENDING
    return answer_markdown(turn.answer, number)


def chat_messages(turns: list[Turn]) -> list[dict[str, str]]:
    """The Chatbot value: one user and one assistant message per turn (so message i belongs to turn i // 2)."""
    messages: list[dict[str, str]] = []
    for i, turn in enumerate(turns, start=1):
        messages.append({"role": "user", "content": question_markdown(turn.question)})
        messages.append({"role": "assistant", "content": turn_reply(turn, i)})
    return messages


def api_history(
    turns: list[Turn], max_items: int | None = None, max_chars: int | None = None
) -> list[dict[str, str]]:
    """The conversation as the rag API takes it (answered turns only, plain text, no HTML): the most recent
    exchanges that fit in `max_items` messages and `max_chars` characters (the API refuses a longer history)."""
    pairs = [
        ({"role": "user", "content": t.question}, {"role": "assistant", "content": t.answer.text})
        for t in turns
        if t.ok and t.answer is not None
    ]
    kept: list[tuple[dict[str, str], dict[str, str]]] = []
    chars = 0
    for pair in reversed(pairs):
        chars += len(pair[0]["content"]) + len(pair[1]["content"])
        if (max_items is not None and 2 * (len(kept) + 1) > max_items) or (max_chars is not None and chars > max_chars):
            break
        kept.append(pair)
    return [message for pair in reversed(kept) for message in pair]


def turn_of_message(index: int | list[int] | tuple[int, ...]) -> int:
    """The 0-based turn of a Chatbot message index (as a like event reports it)."""
    i = index[0] if isinstance(index, list | tuple) else index
    return int(i) // 2


# --- the citations panel --------------------------------------------------------------------------------------------


def citation_html(citation: Citation, turn: int) -> str:
    """One panel item: [n], location, the passage with the quote highlighted, and the works the quote cites."""
    works = "".join(source_ref_html(s) for s in citation.sources)
    works_html = f'<div class="works-h">Cites</div><ul class="works">{works}</ul>' if works else ""
    page = f", p. {_esc(citation.page)}" if citation.page else ""
    return (f'<div class="cite-item" id="{cite_id(turn, citation.n)}">'
            f'<div class="cite-head"><span class="cite-n">[{citation.n}]</span> '
            f'<span class="cite-loc">{_esc(citation.location)}{page}</span></div>'
            f'<div class="cite-passage">{highlight_passage(citation)}</div>{works_html}'
            f'<div class="cite-id">passage {_esc(citation.passage_id)}</div></div>')


def passages_html(passages: list[ScoredPassage]) -> str:
    """A list of retrieved passages (location, score and text)."""
    items = "".join(f'<li class="closest"><div class="cite-loc">{_esc(sp.passage.location)} '
                    f'<span class="score">score {sp.score:.3f}</span></div>'
                    f'<div class="cite-passage">{_inline(sp.passage.text)}</div></li>' for sp in passages)
    return f'<ol class="closest-list">{items}</ol>'


def answer_panel(answer: Answer, turn: int, top_k: int) -> str:
    """The panel for one answer: its citations, or on refusal the closest passages."""
    ranked = answer.retrieved or answer.closest
    shown = ranked[: max(1, top_k)]
    if answer.refused:
        return (f'<div class="refusal"><b>{NOT_IN_SOURCES}.</b> Closest passages ({len(shown)}):</div>'
                f"{passages_html(shown)}")
    items = "".join(citation_html(c, turn) for c in answer.citations)
    more = (f'<details class="retrieved"><summary>Retrieved passages ({len(shown)})</summary>'
            f"{passages_html(shown)}</details>") if shown else ""
    return items + more


def citations_html(turns: list[Turn], top_k: int = 5) -> str:
    """The citations panel: the latest turn open, earlier turns folded (newest first)."""
    sections = []
    for i in range(len(turns), 0, -1):
        turn = turns[i - 1]
        if turn.answer is None:
            continue
        title = f'<span class="turn-q">Q{i}: {_esc(_printable(turn.question)[:160])}</span>'
        body = answer_panel(turn.answer, i, top_k)
        is_open = " open" if i == len(turns) else ""
        state = "done" if turn.done else "streaming"
        sections.append(f'<details class="turn" id="turn-{i}" data-state="{state}"{is_open}><summary>{title}</summary>'
                        f"{body}</details>")
    if not sections:
        return '<div class="panel-empty">Ask a question: the cited passages appear here.</div>'
    return "".join(sections)


# --- the sources tab ------------------------------------------------------------------------------------------------


def _haystack(view: SourceView) -> str:
    e = view.entry
    parts = [e.label, " ".join(e.authors), e.title, e.reference(), e.container, e.year_label, e.publisher, e.key]
    parts += [f"{c.location} {c.sentence}" for c in view.citing]
    return " ".join(parts).casefold()


def filter_sources(views: list[SourceView], query: str) -> list[SourceView]:
    """The works whose label, authors, title, venue or citing sentences contain every word of the query."""
    words = query.casefold().split()
    return [v for v in views if all(w in _haystack(v) for w in words)]


def source_html(view: SourceView) -> str:
    """One bibliography entry with its citing passages and whether its full text is indexed."""
    e = view.entry
    link = (f' <a href="{_esc(e.url)}" target="_blank" rel="noopener noreferrer">link ↗</a>'
            if e.url.startswith(("http://", "https://")) else "")
    badge = ('<span class="badge full">full text indexed</span>' if view.fulltext_indexed
             else '<span class="badge card">bibliography entry only</span>')
    cites = "".join(f'<li><span class="cite-loc">{_esc(c.location)}</span>'
                    f'{f" (p. {_esc(c.pages)})" if c.pages else ""}: {_inline(c.sentence)}</li>'
                    for c in view.citing)
    n = len(view.citing)
    cited = (f'<div class="works-h">Cited in {n} passage{"s" if n != 1 else ""}</div><ul class="citing">{cites}</ul>'
             if n else '<div class="works-h">Not cited in a passage</div>')
    authors = "; ".join(e.authors)
    return (f'<div class="src-item" id="src-{_esc(e.key)}"><div class="src-head"><b>{_esc(e.label)}</b> {badge}</div>'
            f'<div class="src-ref">{_esc(authors)} — {_inline(e.reference())}{link}</div>{cited}</div>')


def sources_html(views: list[SourceView], query: str = "", max_chars: int | None = None) -> str:
    """The Sources tab: the (filtered) bibliography; a filter longer than `max_chars` is refused with one line."""
    if max_chars is not None and len(query) > max_chars:
        return (f'<div class="panel-empty">The filter is {len(query):,} characters long; the limit is {max_chars}. '
                "Search for a name, a title word or a year.</div>")
    shown = filter_sources(views, query)
    head = f'<div class="src-count">{len(shown)} of {len(views)} works</div>'
    if not shown:
        return head + f'<div class="panel-empty">No work matches “{_esc(query)}”.</div>'
    return head + "".join(source_html(v) for v in shown)


# --- feedback -------------------------------------------------------------------------------------------------------


def feedback_record(turn: Turn, helpful: bool, now: datetime | None = None) -> dict[str, Any]:
    """One JSONL line of page feedback."""
    answer = turn.answer
    return {
        "timestamp": (now or datetime.now(UTC)).isoformat(timespec="seconds"),
        "question": turn.question,
        "answer": answer.text if answer else turn.error,
        "refused": bool(answer and answer.refused),
        "generator": answer.generator if answer else "",
        "citations": [{"n": c.n, "passage_id": c.passage_id, "quote": c.quote}
                      for c in (answer.citations if answer else [])],
        "helpful": helpful,
    }
