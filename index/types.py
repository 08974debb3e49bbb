"""Boundary types of the corpus layer: a bibliography entry, an in-text citation, a passage.

Each is defined once here and used by every layer above (retrieval, answers, the page, the eval). A passage carries
everything needed to cite it: where it sits in the article (section, paragraph, character offsets into the shipped
file) or which cited work and page it comes from, and the works it itself cites.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

PassageKind = Literal["article", "source_card", "fulltext"]
# How a reference list marks a chapter (its book's editors) and a paper given at a meeting (its container).
_EDITED = re.compile(r"\((?:editors?|eds?\.?)\)|\bedited by\b", re.I)
_MEETING = re.compile(r"\b(?:congress|conference|symposium|workshop|proceedings|convention)\b", re.I)


class SourceEntry(BaseModel):
    """One structured bibliography entry of the article."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Stable key, e.g. 'weitz2018' or 'csto2019c'.")
    label: str = Field(description="How a reader cites it, e.g. 'Weitz (2018)'.")
    authors: list[str] = Field(description="Persons as printed ('Weitz, Richard') or one organisation.")
    organisation: bool = Field(description="True when the author is an organisation, not a person.")
    year: int = Field(description="Publication year.")
    year_suffix: str = Field(default="", description="Disambiguating suffix, e.g. 'c' in 2019c.")
    title: str = Field(description="Title of the work, without quotes or emphasis marks.")
    container: str = Field(default="", description="Journal, book, site or event the work appears in.")
    volume: str = Field(default="", description="Volume, when given.")
    issue: str = Field(default="", description="Issue or number, when given.")
    pages: str = Field(default="", description="Page range of the work in its container, e.g. '45-52'.")
    publisher: str = Field(default="", description="Publisher, when given.")
    place: str = Field(default="", description="Place of publication, when given.")
    date: str = Field(default="", description="Date of a web or news item as printed, e.g. 'Feb 28, 2018'.")
    url: str = Field(default="", description="URL, repaired when the article broke it across lines.")
    raw: str = Field(description="The entry as printed (broken lines joined).")
    start: int = Field(description="Character offset of the entry in the shipped article file.")
    end: int = Field(description="End offset (exclusive) of the entry in the shipped article file.")

    @property
    def family(self) -> str:
        """First author's family name, or the organisation's name."""
        first = self.authors[0] if self.authors else ""
        return first if self.organisation else first.split(",")[0].strip()

    @property
    def kind(self) -> str:
        """What sort of work it is, read from its fields: a "book chapter" (in a book whose editors it names), a
        "conference paper" (in a congress or conference), a "journal article" (in a container, with a volume or
        pages), a "report" (in a series, from a publisher), a "book" (a publisher, no container), else a "web page or
        news item"."""
        if self.container and _EDITED.search(self.raw):
            return "book chapter"
        if _MEETING.search(self.container):
            return "conference paper"
        if self.container and (self.volume or self.pages):
            return "journal article"
        if self.publisher:
            return "report" if self.container else "book"
        return "web page or news item"

    @property
    def year_label(self) -> str:
        """Year with its suffix, e.g. '2019c'."""
        return f"{self.year}{self.year_suffix}"

    def reference(self) -> str:
        """A compact full reference: 'Title, Container Volume(Issue): pages'."""
        venue = self.container
        if self.volume:
            venue += f" {self.volume}" + (f"({self.issue})" if self.issue else "")
        if self.pages:
            venue += f": {self.pages.replace('-', '–')}"
        parts = [self.title] + ([venue.strip()] if venue.strip() else [])
        if self.publisher or self.place:
            parts.append(": ".join(p for p in (self.place, self.publisher) if p))
        return ", ".join(parts)


class CitationRef(BaseModel):
    """An in-text citation found in a passage, resolved to a bibliography entry."""

    model_config = ConfigDict(frozen=True)

    key: str = Field(description="Key of the cited bibliography entry.")
    pages: str = Field(default="", description="Page or pages given with the citation, e.g. '25' or '5-6'.")
    surface: str = Field(description="The citation as printed, e.g. '(Weitz 2018, 25)'.")
    start: int = Field(description="Offset of the citation in the shipped article file.")
    end: int = Field(description="End offset (exclusive) of the citation in the shipped article file.")


class Passage(BaseModel):
    """A retrievable unit of text with everything needed to cite it."""

    id: str = Field(description="Stable id derived from content and position.")
    kind: PassageKind = Field(description="article paragraph, source card, or full text of a cited work.")
    text: str = Field(description="The passage text as indexed.")
    section: str = Field(default="", description="Article section (or the work's label for sources).")
    subsection: str = Field(default="", description="Article subsection heading, when inside one.")
    paragraph: int = Field(default=0, description="Paragraph number in the article (1-based), 0 for sources.")
    start: int = Field(default=-1, description="Character offset into the shipped article file (-1 for sources).")
    end: int = Field(default=-1, description="End offset (exclusive) into the shipped article file.")
    source_key: str = Field(default="", description="Bibliography key for source cards and full texts.")
    page: str = Field(default="", description="Page label within a cited work's full text, when known.")
    file: str = Field(default="", description="File a full-text passage was read from.")
    citations: list[CitationRef] = Field(default_factory=list, description="Works this passage cites.")

    @property
    def location(self) -> str:
        """Human-readable place: 'Philosophy › ¶5' or 'Weitz (2018), p. 12'."""
        if self.kind == "article":
            sec = f"{self.section} › {self.subsection}" if self.subsection else self.section
            return f"{sec} › ¶{self.paragraph}"
        if self.page:
            return f"{self.section}, p. {self.page}"
        return self.section


def passage_id(kind: str, where: str, position: int, text: str) -> str:
    """Stable id from content and logical position (section, paragraph, chunk), so an edit elsewhere keeps it."""
    digest = hashlib.sha1(f"{kind}\x1f{where}\x1f{position}\x1f{text}".encode(), usedforsecurity=False).hexdigest()
    return f"{kind[0]}-{digest[:16]}"
