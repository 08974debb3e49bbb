"""Find the article's in-text citations and resolve each to its bibliography entry, with pages.

Forms handled: parenthetical "(Weitz 2018, 25)", groups "(Sucu 2017, 132; Mrvaljevic 2015)", organisations
"(CSTO, 2019c)", "(Oliker et al 2009, 102)", author and page "(Allison, 98)", author only "(Barabanov)", narrative
"Nikitina (2012) argues ... (51)" and "Weitz notes that ... (62)" (a bare page in brackets belongs to the last author
named before it in the paragraph), and document mentions ("the CSTO Charter", "the 1949 North Atlantic Treaty").
Names resolve by family name, organisation name or acronym, case-folded, with a one-edit tolerance for misprints
("Shakhnova", "UNDOC", "Defense"/"Defence"); a year that matches no entry of a family with exactly one entry
resolves to that entry ("Aris (2010)").
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from index.bibliography import org_acronym
from index.types import CitationRef, SourceEntry

_PAREN = re.compile(r"\(([^()]{1,120})\)")
_PAGES = r"(?:\d+(?:\s*[-–]\s*\d+)?|[ivxlc]+)"
_PART = re.compile(rf"^(?P<name>[^\d;()]+?)(?:\s+et al\.?)?,?\s*(?P<year>\d{{4}}[a-d]?)?(?:,\s*(?P<pages>{_PAGES}))?$")
_BARE = re.compile(rf"^{_PAGES}$")
_NARRATIVE_YEAR = re.compile(r"([A-Z][\w’'\-]+(?:\s+(?:and|de)\s+[A-Z][\w’'\-]+)?|de\s+[A-Z]\w+)\s+\((\d{4}[a-d]?)\)")
_MENTIONS = [
    (re.compile(r"\bthe CSTO Charter\b|\bCharter of the Collective Security Treaty Organization\b"), "charter"),
    (re.compile(r"\bthe 1949 North Atlantic Treaty\b|\bArticle \d+ of the North Atlantic Treaty\b"), "treaty"),
]


@dataclass
class CitationReport:
    """Resolved citations per paragraph offset, and what could not be resolved."""

    citations: list[CitationRef] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def _fold(text: str) -> str:
    text = unicodedata.normalize("NFKD", text)
    return "".join(c for c in text if not unicodedata.combining(c)).casefold().replace("’", "'").strip()


def _distance(a: str, b: str) -> int:
    """Damerau-Levenshtein (optimal string alignment) distance."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = 0 if a[i - 1] == b[j - 1] else 1
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[len(a)][len(b)]


class Resolver:
    """Maps a printed name (and year) to bibliography entries."""

    def __init__(self, entries: list[SourceEntry]) -> None:
        self.entries = entries
        self.names: dict[str, list[SourceEntry]] = {}
        for e in entries:
            for name in self._names(e):
                self.names.setdefault(_fold(name), []).append(e)

    @staticmethod
    def _names(e: SourceEntry) -> set[str]:
        if e.organisation:
            org = e.authors[0]
            return {org, org_acronym(org), org.split()[0]} if org.split()[0].isupper() else {org, org_acronym(org)}
        family = e.family
        names = {family}
        if len(e.authors) == 2:
            names.add(f"{family} and {e.authors[1].split()[-1]}")
        return names

    def lookup(self, name: str, persons_only: bool = False) -> list[SourceEntry]:
        """Entries whose name matches, exactly or within one edit for names of six letters or more."""
        key = _fold(re.sub(r"\s+et al\.?$", "", name.strip()))
        found = self.names.get(key, [])
        if not found and len(key) >= 5:
            close = [
                n
                for n in self.names
                if abs(len(n) - len(key)) <= 2 and _distance(n, key) <= (1 if len(key) < 12 else 2)
            ]
            if len(close) == 1:
                found = self.names[close[0]]
        if persons_only:
            found = [e for e in found if not e.organisation]
        return found

    def resolve(self, name: str, year: str | None, persons_only: bool = False) -> SourceEntry | None:
        """The one entry meant by name and year, or None."""
        found = self.lookup(name, persons_only)
        if not found:
            return None
        if year:
            exact = [e for e in found if e.year_label == year]
            if exact:
                return exact[0]
            return found[0] if len({e.key for e in found}) == 1 else None
        return found[0] if len({e.key for e in found}) == 1 else None


def _norm_pages(pages: str | None) -> str:
    return re.sub(r"\s*[-–]\s*", "-", pages or "")


Event = tuple[int, int, str, SourceEntry | None, str, str]  # start, end, kind, entry, pages, surface


def find_citations(text: str, base: int, resolver: Resolver, where: str = "") -> CitationReport:
    """Citations in one paragraph; `base` is the paragraph's offset in the file (offsets are file offsets)."""
    report = CitationReport()
    events = _named_events(text, resolver)
    events += _paren_events(text, resolver, events, report, where)
    events += _family_events(text, resolver, events)
    _emit(sorted(events, key=lambda ev: ev[0]), base, report, where)
    return report


def _named_events(text: str, resolver: Resolver) -> list[Event]:
    """Narrative citations with a year ("Nikitina (2012)") and mentions of a treaty or charter by name."""
    events: list[Event] = []
    for m in _NARRATIVE_YEAR.finditer(text):
        entry = resolver.resolve(m.group(1), m.group(2))
        if entry is not None:
            events.append((m.start(), m.end(), "narrative", entry, "", m.group(0)))
    for pattern, _ in _MENTIONS:
        for m in pattern.finditer(text):
            name = (
                "Charter of the Collective Security Treaty Organization"
                if "Charter" in m.group(0)
                else ("North Atlantic Treaty Organization")
            )
            entry = resolver.resolve(name, None)
            if entry is not None:
                events.append((m.start(), m.end(), "mention", entry, "", m.group(0)))
    return events


def _paren_events(
    text: str, resolver: Resolver, named: list[Event], report: CitationReport, where: str
) -> list[Event]:
    """Parenthetical citations: "(Allison 2018, 98; Aris, 5)", and a bare page "(51)" that refers to the last."""
    narrative_spans = [(s, e) for s, e, *_ in named]
    events: list[Event] = []
    for m in _PAREN.finditer(text):
        inner = m.group(1).strip()
        if any(s <= m.start() < e for s, e in narrative_spans):
            continue  # the "(2012)" of a narrative "Nikitina (2012)"
        if _BARE.match(inner):
            events.append((m.start(), m.end(), "bare", None, _norm_pages(inner), m.group(0)))
            continue
        for part in (p.strip() for p in inner.split(";")):
            pm = _PART.match(part)
            if not pm:
                continue
            name, year, pages = pm.group("name").strip(" ,"), pm.group("year"), pm.group("pages")
            persons_only = not year and not pages  # "(UNDOC)" after a name is an acronym, not a citation
            entry = resolver.resolve(name, year, persons_only=persons_only)
            if entry is None:
                if year or pages:  # a bare "(CSTO)" or "(UNDOC)" glosses an acronym; it cites nothing
                    report.warnings.append(f"{where}: unresolved citation {part!r} in {m.group(0)!r}")
                continue
            events.append((m.start(), m.end(), "paren", entry, _norm_pages(pages), part))
    return events


def _family_events(text: str, resolver: Resolver, found: list[Event]) -> list[Event]:
    """Narrative mentions without a year: a bibliography family name in running text, outside other citations."""
    events: list[Event] = []
    for m in re.finditer(r"(?<![(\w])(?:de\s+)?[A-Z][\w’'\-]{3,}(?:\s+and\s+[A-Z][\w’'\-]+)?", text):
        if any(s <= m.start() < e for s, e, *_ in found + events) or _inside_paren(text, m.start()):
            continue
        entry = resolver.resolve(m.group(0), None, persons_only=True)
        if entry is None and " and " in m.group(0):
            entry = resolver.resolve(m.group(0).split(" and ")[0], None, persons_only=True)
        if entry is not None:
            events.append((m.start(), m.end(), "narrative", entry, "", m.group(0)))
    return events


def _emit(events: list[Event], base: int, report: CitationReport, where: str) -> None:
    """Citations in reading order; a bare page cites the last author named (and gives a narrative mention its page)."""
    last: SourceEntry | None = None
    pending_narrative: int | None = None  # index into report.citations of a narrative mention awaiting its page
    for start, end, kind, entry, pages, surface in events:
        if kind == "bare":
            if last is None:
                report.warnings.append(f"{where}: page {surface} follows no cited author")
                continue
            if pending_narrative is not None:
                old = report.citations[pending_narrative]
                report.citations[pending_narrative] = old.model_copy(update={"pages": pages})
                pending_narrative = None
            report.citations.append(
                CitationRef(key=last.key, pages=pages, surface=surface, start=base + start, end=base + end)
            )
            continue
        assert entry is not None
        last = entry
        report.citations.append(
            CitationRef(key=entry.key, pages=pages, surface=surface, start=base + start, end=base + end)
        )
        pending_narrative = len(report.citations) - 1 if kind == "narrative" else None


def _inside_paren(text: str, i: int) -> bool:
    return text.rfind("(", 0, i) > text.rfind(")", 0, i)
