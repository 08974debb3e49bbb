"""Boundary types of the answer layer: a cited work on a citation, a citation, an answer."""

from __future__ import annotations

from pydantic import BaseModel, Field

from index.types import Passage, SourceEntry


class SourceRef(BaseModel):
    """A work of the bibliography that a quoted sentence leans on, with the pages cited."""

    key: str = Field(description="Bibliography key.")
    label: str = Field(description="As a reader cites it, e.g. 'Shakhanova (2017)'.")
    authors: list[str] = Field(description="Authors or organisation.")
    year: str = Field(description="Year with suffix, e.g. '2019c'.")
    pages: str = Field(default="", description="Pages cited, e.g. '49'.")
    title: str = Field(description="Title of the work.")
    url: str = Field(default="", description="URL of the work, when the bibliography gives one.")
    reference: str = Field(default="", description="Title, venue, volume and pages in one line.")

    @classmethod
    def from_entry(cls, entry: SourceEntry, pages: str = "") -> SourceRef:
        """Build from a bibliography entry."""
        return cls(
            key=entry.key,
            label=entry.label,
            authors=entry.authors,
            year=entry.year_label,
            pages=pages,
            title=entry.title,
            url=entry.url,
            reference=entry.reference(),
        )

    def display(self) -> str:
        """'Shakhanova (2017), p. 49 — The Architecture ..., East-West Studies 8: 45–52'."""
        pages = f", {'pp.' if '-' in self.pages else 'p.'} {self.pages}" if self.pages else ""
        return f"{self.label}{pages} — {self.reference}"

    def json_dict(self) -> dict[str, object]:
        """The `sources` item of `ask --json`."""
        return {
            "key": self.key,
            "label": self.label,
            "authors": self.authors,
            "year": self.year,
            "pages": self.pages,
            "title": self.title,
            "url": self.url,
        }


class Citation(BaseModel):
    """A numbered citation: the quoted sentence, the passage it comes from and the works it leans on."""

    n: int = Field(description="The [n] marker in the answer text.")
    passage_id: str = Field(description="Id of the cited passage.")
    kind: str = Field(description="article, source_card or fulltext.")
    section: str = Field(description="Section of the article (or the work's label).")
    subsection: str = Field(default="", description="Subsection of the article, when inside one.")
    paragraph: int = Field(description="Paragraph number within the section (0 for sources).")
    location: str = Field(description="Human-readable place, e.g. 'Philosophy › ¶5'.")
    quote: str = Field(description="The quoted sentence, verbatim from the passage.")
    quote_start: int = Field(description="Offset of the quote in the passage text.")
    quote_end: int = Field(description="End offset of the quote in the passage text.")
    text: str = Field(description="The whole passage text.")
    start: int = Field(default=-1, description="Offset of the passage in the article file (-1 for sources).")
    end: int = Field(default=-1, description="End offset of the passage in the article file.")
    page: str = Field(default="", description="Page in a cited work's full text, when known.")
    sources: list[SourceRef] = Field(default_factory=list, description="Works the quoted sentence cites.")

    @classmethod
    def of(cls, n: int, passage: Passage, quote: str, span: tuple[int, int], sources: list[SourceRef]) -> Citation:
        """A citation of `quote` (at `span` in the passage text) with everything the passage carries to cite it."""
        p = passage
        return cls(
            n=n,
            passage_id=p.id,
            kind=p.kind,
            section=p.section,
            subsection=p.subsection,
            paragraph=p.paragraph,
            location=p.location,
            quote=quote,
            quote_start=span[0],
            quote_end=span[1],
            text=p.text,
            start=p.start,
            end=p.end,
            page=p.page,
            sources=sources,
        )

    def json_dict(self) -> dict[str, object]:
        """The citation item of `ask --json`."""
        return {
            "n": self.n,
            "passage_id": self.passage_id,
            "section": self.section,
            "paragraph": self.paragraph,
            "quote": self.quote,
            "text": self.text,
            "sources": [s.json_dict() for s in self.sources],
            "location": self.location,
            "kind": self.kind,
            "page": self.page,
        }


class ScoredPassage(BaseModel):
    """A retrieved passage with its fused score and rank."""

    passage: Passage
    score: float
    rank: int


class Answer(BaseModel):
    """What `Assistant.ask` returns."""

    question: str = Field(description="The question as asked.")
    text: str = Field(description="The answer; every sentence ends with its [n] marker.")
    citations: list[Citation] = Field(default_factory=list, description="One per [n] marker.")
    refused: bool = Field(default=False, description="True when the sources do not support an answer.")
    closest: list[ScoredPassage] = Field(default_factory=list, description="Closest passages (shown on refusal).")
    retrieved: list[ScoredPassage] = Field(default_factory=list, description="Passages retrieval returned, ranked.")
    generator: str = Field(default="extractive", description="extractive or llm.")
    evidence_strength: float = Field(
        default=0.0, description="Score of the best evidence, compared with the refusal threshold."
    )
    checks_failed: str = Field(
        default="",
        description="Why the best sentences cannot answer (date, quantity, place, "
        "names, time horizon; 'bibliography' when no cited work has the fields a question about the bibliography "
        "asks for; 'unrelated' when the question is related to no candidate sentence as much as any answerable dev "
        "question is: another subject); empty when every check passes. Either this or weak evidence refuses.",
    )
    notice: str = Field(default="", description="A note for the reader, e.g. that the LLM failed.")
    timings_ms: dict[str, float] = Field(default_factory=dict, description="Time per step, milliseconds.")

    def json_dict(self) -> dict[str, object]:
        """The object `csto-qa ask --json` prints."""
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "citations": [c.json_dict() for c in self.citations],
            "timings_ms": self.timings_ms,
            "generator": self.generator,
            "notice": self.notice,
            "closest": [
                {"passage_id": s.passage.id, "location": s.passage.location, "text": s.passage.text}
                for s in self.closest
            ],
        }


class CitingPassage(BaseModel):
    """An article passage citing a work, with the pages and the citing sentence."""

    passage_id: str
    location: str
    pages: str = ""
    sentence: str


class SourceView(BaseModel):
    """A bibliography entry with every article passage that cites it (for `sources --citations` and the page)."""

    entry: SourceEntry
    citing: list[CitingPassage] = Field(default_factory=list)
    fulltext_indexed: bool = False
