"""Parse the article's bibliography into structured SourceEntry records.

Entries are "- " lines. Two are broken in the text: a title that runs onto a line which itself starts with "- "
(such a line has no "(year)" of its own, so it continues the entry before it), and a URL that runs onto a line
without the "- " marker.
"""

from __future__ import annotations

import re
import unicodedata

from index.article import Block
from index.types import SourceEntry

_YEAR = re.compile(r"\((\d{4})([a-z]?)\)")
_URL = re.compile(r"<?(https?://[^\s>]+)>?")
_PLACE_PUB = re.compile(r"\(([^():]+):\s*([^()]+?)\.?\)\.?\s*$")
_VENUE = re.compile(r"\*([^*]+)\*\s*(.*)$")
_VOLUME = re.compile(r"^(\d+)(?:\((\d+)\))?(?:\s+([A-Za-z]+ \d{4}))?(?::\s*([\divx]+-[\divx]+))?\.?$")
_DATE = re.compile(r"((?:Jan|Feb|March|April|May|June|July|Aug|Sept|Oct|Nov|Dec)[a-z]*\.? \d{1,2},? \d{4})")
_MINOR = {"of", "on", "and", "the", "for", "in"}


class BibliographyError(ValueError):
    """The bibliography could not be parsed."""


def entry_lines(blocks: list[Block]) -> list[tuple[str, int, int]]:
    """Join broken lines; return (entry text, start, end) for each entry."""
    lines: list[tuple[str, int]] = []
    for block in blocks:
        pos = block.start
        for line in block.text.split("\n"):
            lines.append((line, pos))
            pos += len(line) + 1
    entries: list[list] = []
    for line, pos in lines:
        stripped = line.strip()
        if not stripped:
            continue
        end = pos + len(line.rstrip())
        starts_entry = stripped.startswith("- ") and _YEAR.search(stripped[:160])
        if starts_entry or not entries:
            entries.append([stripped[2:] if stripped.startswith("- ") else stripped, pos, end])
            continue
        prev = entries[-1]
        piece = stripped[2:] if stripped.startswith("- ") else stripped
        last = prev[0].rsplit(" ", 1)[-1]
        if "://" in last and prev[0].endswith("->"):
            prev[0] = prev[0][:-1] + piece.rstrip(">") + ">"  # a URL cut at a hyphen, its '>' on the first line
        elif "://" in last and prev[0].endswith("-"):
            prev[0] = prev[0] + piece
        else:
            prev[0] = prev[0] + " " + piece
        prev[2] = end
    return [(t, s, e) for t, s, e in entries]


def strip_accents(text: str) -> str:
    """The text without diacritics ("Réjeanne" -> "Rejeanne")."""
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def _unescape(text: str) -> str:
    return re.sub(r"\\([$*_\\])", r"\1", text)


def _strip_marks(text: str) -> str:
    """Remove one pair of outer quotes or emphasis marks; keep inner quoted words whole."""
    text = text.strip().rstrip(",.").strip()
    if text[:1] in '"“*':
        text = text[1:]
    if text[-1:] in "”*" or (text[-1:] == '"' and text.count('"') % 2 == 1):
        text = text[:-1]
    if len(re.findall(r"(?<!\w)'", text)) > len(re.findall(r"'(?!\w)", text)):
        text += "'"  # a quoted phrase whose closing quote the print lost ('New Europe)
    return _unescape(text.strip())


def org_acronym(name: str) -> str:
    """'Collective Security Treaty Organization' -> 'CSTO'; a leading all-caps word is its own acronym."""
    words = name.split()
    if words and words[0].isupper() and len(words[0]) > 1:
        return words[0]
    return "".join(w[0] for w in words if w.lower() not in _MINOR and w[0].isalpha()).upper()


def _split_authors(text: str) -> tuple[list[str], bool]:
    text = text.strip().rstrip(",")
    if "," not in text:
        return [text], True
    text = re.sub(r",?\s*et al\.?$", "", text)
    family, _, rest = text.partition(",")
    persons = [p.strip() for p in re.split(r"\s+and\s+|,\s*", rest) if p.strip()]
    first = f"{family.strip()}, {persons[0]}" if persons else family.strip()
    return [first] + persons[1:], False


def _key(family: str, organisation: bool, year: str) -> str:
    base = org_acronym(family) if organisation and len(family.split()) > 1 else family
    return re.sub(r"[^a-z0-9]", "", strip_accents(base).lower()) + year


def _label(authors: list[str], organisation: bool, raw_authors: str, year: str) -> str:
    if organisation:
        return f"{authors[0]} ({year})"
    family = authors[0].split(",")[0]
    if "et al" in raw_authors:
        return f"{family} et al. ({year})"
    if len(authors) == 2:
        return f"{family} and {authors[1].split()[-1]} ({year})"
    return f"{family} ({year})"


def parse_entry(text: str, start: int, end: int) -> SourceEntry:
    """Parse one joined bibliography line."""
    m = _YEAR.search(text)
    if not m:
        raise BibliographyError(f"bibliography entry without a (year): {text[:60]!r}")
    raw_authors = text[: m.start()].strip()
    authors, organisation = _split_authors(raw_authors)
    year, suffix = m.group(1), m.group(2)
    rest = text[m.end() :].lstrip(" ,.")
    url = ""
    if um := _URL.search(rest):
        url = um.group(1)
        rest = rest[: um.start()].strip()
    publisher = place = ""
    if pm := _PLACE_PUB.search(rest):
        place, publisher = pm.group(1).strip(), pm.group(2).strip().rstrip(".")
        rest = rest[: pm.start()].strip()
    title, rest = _title(rest)
    date, container, volume, issue, pages, leftover = _venue(rest)
    if leftover and not title:
        title = _strip_marks(leftover)
    elif leftover:
        container = _strip_marks(leftover)  # a series, e.g. 'Analytical Paper 4'
    if not title:
        title = _strip_marks(raw_authors)
    label = _label(authors, organisation, raw_authors, f"{year}{suffix}")
    return SourceEntry(
        key=_key(authors[0].split(",")[0] if not organisation else authors[0], organisation, f"{year}{suffix}"),
        label=label,
        authors=authors,
        organisation=organisation,
        year=int(year),
        year_suffix=suffix,
        title=title,
        container=container,
        volume=volume,
        issue=issue,
        pages=pages,
        publisher=publisher,
        place=place,
        date=date,
        url=url,
        raw=text,
        start=start,
        end=end,
    )


def _title(rest: str) -> tuple[str, str]:
    """(title, what follows it) of an entry's text after its year: a quoted or starred title, or an unquoted
    chapter title."""
    if rest[:1] in '"“':
        close = _title_end(rest)
        return _strip_marks(rest[: close + 1]), rest[close + 1 :].strip(" ,.")
    if rest.startswith("*"):
        close = rest.index("*", 1)
        return rest[1:close].strip(), rest[close + 1 :].strip(" ,.")
    # an unquoted chapter title runs to " in Editor (editors), *Book*" or to the first ". "
    cm = re.search(r"\s+in\s+(?=[A-Z][^*]*\(editors?\))|\.\s", rest)
    return (rest[: cm.start()].strip(), rest[cm.end() :].strip()) if cm else (rest.strip(" ."), "")


def _venue(rest: str) -> tuple[str, str, str, str, str, str]:
    """(date, container, volume, issue, pages, leftover) of what follows a title; leftover is the text left when no
    starred venue is found."""
    date = container = volume = issue = pages = ""
    if dm := _DATE.search(rest):
        date = dm.group(1)
        rest = (rest[: dm.start()] + rest[dm.end() :]).strip(" ,.")
    if not (vm := _VENUE.search(rest)):
        return date, container, volume, issue, pages, rest
    container, tail = vm.group(1).strip(), vm.group(2).strip(" ,.")
    if tail and (vv := _VOLUME.match(tail)):
        volume, issue, pages = vv.group(1) or "", vv.group(2) or vv.group(3) or "", vv.group(4) or ""
    editors = rest[: vm.start()].strip(" ,")
    if editors:
        eds = re.sub(r"\s*\(editors?\)", "", editors)
        container = f"{container} (ed. {eds})"
    return date, container, volume, issue, pages, ""


def _title_end(rest: str) -> int:
    """Index of the quote closing a title that opens at rest[0] (inner quoted words are skipped)."""
    # the closing quote is followed by ',' or '.' or ' *' (venue) or end; inner quotes are followed by words
    for m in re.finditer(r"[\"”]", rest[1:]):
        i = m.start() + 1
        after = rest[i + 1 : i + 3]
        if after[:1] in (",", ".", "") or after.startswith(" *") or re.match(r" [A-Z][a-z]{2} \d", rest[i + 1 : i + 8]):
            return i
    return len(rest) - 1


def parse_bibliography(blocks: list[Block]) -> list[SourceEntry]:
    """Parse every entry; keys are unique."""
    entries = [parse_entry(t, s, e) for t, s, e in entry_lines(blocks)]
    keys = [e.key for e in entries]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise BibliographyError(f"duplicate bibliography keys: {sorted(dupes)}")
    return entries
