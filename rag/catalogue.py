"""The bibliography as a whole: "the sources it has from 2019?", "how many books does it cite?".

Such a question asks for the works whose fields match, not for a passage: a year or a range ("before 2005", "the
2010s"), a kind of work or not (rag/data/lexicon.toml maps words to index.types.SourceEntry.kind), an author, an outlet
or a publisher, co-authorship, the oldest or newest, how often the article's text cites a work ("the most cited"). It
is recognised at parse time (stage 1) by a noun for cited works or a kind of work, a cue that a set is asked ("which",
"list", "how many") or else a plural with a field ("books before 2010?"), and no word beyond the cues, the fields and
the names: "which sources does the article give for the border dispute?" asks about a topic and is read as any other
question. The answer counts the matching works in one line (by kind, if asked), then quotes each one's entry as
printed (a few) or its label (many), each cited to its card; when nothing matches, it says so and shows the closest
passages, like any refusal. A follow-up that names a field narrows the listing it follows.

Names: an author's family name, an organisation's name or its initials, an outlet's or a publisher's name (or the
acronym before its generic words: "RAND" for "RAND Corporation"). The article's own author and the organisation the
article is about are filters only after "by" or "from", before a noun for works or before a role ("works by Doe",
"CSTO documents", "the CSTO as author"): else "which 2016 sources does Doe cite?" (Doe the article's author) would ask
for Doe's own works. A work named by its author with a singular noun ("the Doe study") is one work, not a listing.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from functools import cache

from index.types import Passage, SourceEntry
from rag.cite import Sentence, fold, render
from rag.lexicon import DATA, whole_words
from rag.text import content_words
from rag.types import Citation

HEADER = "{n} of the {total} works in the article's bibliography match ({criteria}):"
EVERYTHING = "The article's bibliography lists {total} works:"
NOTHING = "No work in the article's bibliography matches ({criteria}). The closest passages are listed below."

_YEAR = re.compile(r"(?<!\d)(1[89]\d\d|20\d\d)(s?)(?!\d)")


def _any(phrases: list[str]) -> str:
    return r"(?:" + "|".join(f"(?:{p})" for p in phrases) + r")"


@dataclass(frozen=True)
class Cues:
    """The [shelf] word lists, compiled."""

    noun: re.Pattern[str]
    weak_noun: re.Pattern[str]
    plural: re.Pattern[str]
    mark: re.Pattern[str]
    cue: re.Pattern[str]
    kind: re.Pattern[str]  # any word for a kind of work, the longest first ("online articles" before "articles")
    kind_of: tuple[tuple[str, str], ...]  # (phrase, kind), the longest phrase first
    negation: re.Pattern[str]  # ends a text before a kind of work it rules out ("not journal articles")
    fillers: frozenset[str]  # stemmed
    before: str
    until: str
    after: str
    since: str
    through: str
    oldest: re.Pattern[str]
    newest: re.Pattern[str]
    cited: dict[str, re.Pattern[str]]  # "most", "once", "never": how often the text cites a work
    breakdown: re.Pattern[str]  # "what kinds of sources": the works counted by kind
    by: str
    role: str  # "as author": a name filter before it
    coauthored: re.Pattern[str]  # works with more than one author
    works: str  # a noun for works or a kind of work
    generic: frozenset[str]


@cache
def cues() -> Cues:
    """The [shelf] table of the lexicon, compiled once."""
    raw = tomllib.loads((DATA / "lexicon.toml").read_text(encoding="utf-8"))["shelf"]

    words = raw["nouns"] + raw["weak_nouns"] + raw["cues"] + raw["marks"] + raw["fillers"] + raw["by"] + raw["roles"]
    words += raw["coauthored"] + raw["negations"]
    words += raw["before"] + raw["until"] + raw["after"] + raw["since"] + ["between", "and", "to", "or"]
    return Cues(
        noun=whole_words(raw["nouns"]),
        weak_noun=whole_words(raw["weak_nouns"]),
        plural=whole_words(raw["set_words"]),
        mark=whole_words(raw["marks"]),
        cue=whole_words(raw["cues"]),
        kind=whole_words(sorted((p for ps in raw["kinds"].values() for p in ps), key=len, reverse=True)),
        kind_of=tuple(sorted(((p, k) for k, ps in raw["kinds"].items() for p in ps), key=lambda pk: -len(pk[0]))),
        negation=re.compile(rf"(?<![\w']){_any(raw['negations'])}\s*(?:(?:the|any|all)\s+)?$", re.I),
        fillers=frozenset(content_words(" ".join(words))),
        before=_any(raw["before"]),
        until=_any(raw["until"]),
        after=_any(raw["after"]),
        since=_any(raw["since"]),
        through=_any([re.escape(w) for w in raw["through"]]),
        oldest=whole_words(raw["oldest"]),
        newest=whole_words(raw["newest"]),
        breakdown=whole_words(raw["breakdown"]),
        cited={k: whole_words(raw[f]) for k, f in (("most", "most_cited"), ("once", "cited_once"),
                                                   ("never", "never_cited"))},
        by=_any(raw["by"]),
        role=r"(?:\s+itself)?\s+as\s+(?:(?:the|its|their|an?)\s+)?" + _any(raw["roles"]) + r"(?!\w)",
        coauthored=whole_words(raw["coauthored"]),
        works=_any(raw["nouns"] + raw["weak_nouns"] + [p for ps in raw["kinds"].values() for p in ps]) + r"(?!\w)",
        generic=frozenset(raw["generic"]),
    )


@dataclass(frozen=True)
class Shelf:
    """What a question asks of the bibliography: the fields a work must match (none: the whole bibliography)."""

    years: tuple[int, ...] = ()  # any of these years
    lo: int | None = None  # a range of years, inclusive
    hi: int | None = None
    kinds: tuple[str, ...] = ()  # index.types.SourceEntry.kind
    keys: frozenset[str] | None = None  # the works its names allow (None: it names none)
    names: tuple[str, ...] = ()  # the names as the question gives them
    order: str | None = None  # "oldest" or "newest": only the oldest (newest) of the works that match
    cited: str | None = None  # "most": only the most cited of them; "once", "never": cited once, never in the text
    by_kind: bool = False  # count them by kind of work ("what kinds of sources does it use?")
    coauthored: bool = False  # only works with more than one author
    without: tuple[str, ...] = ()  # kinds of work ruled out

    def matches(self, entry: SourceEntry) -> bool:
        """Whether a work has every field the question asks for."""
        return (
            (not self.years or entry.year in self.years)
            and (self.lo is None or entry.year >= self.lo)
            and (self.hi is None or entry.year <= self.hi)
            and (not self.kinds or entry.kind in self.kinds)
            and entry.kind not in self.without
            and (self.keys is None or entry.key in self.keys)
            and (not self.coauthored or len(entry.authors) > 1 or "et al" in entry.label)
        )

    def criteria(self) -> str:
        """The fields in words: "published 2010–2015; a book; by Doe"."""
        parts = []
        if self.years:
            parts.append("published in " + " or ".join(str(y) for y in self.years))
        if self.lo is not None or self.hi is not None:
            lo, hi = self.lo, self.hi
            parts.append(f"published {lo}–{hi}" if lo and hi else f"published in {lo} or later" if lo
                         else f"published in {hi} or earlier")
        for ruled_out, kinds in ((False, self.kinds), (True, self.without)):
            if kinds:
                parts.append("not " * ruled_out + " or ".join(("an " if k[0] in "aeiou" else "a ") + k for k in kinds))
        if self.names:
            parts.append("by or in " + " or ".join(self.names))
        if self.coauthored:
            parts.append("with more than one author")
        if self.order:
            parts.append(f"the {self.order}")
        if self.cited:
            parts.append({"most": "cited most often in the text", "once": "cited once in the text",
                          "never": "never cited in the text"}[self.cited])
        return "; ".join(parts)


@dataclass(frozen=True)
class Name:
    """A name a question may give a work by."""

    phrase: str  # folded
    shown: str  # as the bibliography prints it
    key: str
    person: bool  # a person's name (not an organisation's, an outlet's or a publisher's)
    after_by: bool  # counts only after "by" or "from", or before a noun for works ("Doe's books", "CSTO documents"):
    # the article's own author and the organisation the article is about


class Catalogue:
    """The bibliography's works and the names they go by."""

    def __init__(
        self, entries: dict[str, SourceEntry], own: Collection[str], subject: Collection[str],
        cites: dict[str, int] | None = None, passages: Iterable[Passage] = (),
    ) -> None:
        self.entries = entries
        self.subject = frozenset(subject)
        self.cites = cites or {}  # how many times the article's text cites each work
        self.cards = {p.source_key: p for p in passages if p.kind == "source_card"}  # each work's card
        names = []
        for key, e in entries.items():
            people = [] if e.organisation else [a.split(",")[0].strip() for a in e.authors[:3]]
            orgs = [e.authors[0]] if e.organisation and e.authors else []
            given = [" ".join(reversed([p.strip() for p in a.split(",", 1)])) for a in e.authors[:3] if "," in a]
            persons = people + given * (not e.organisation)
            for phrase in persons + orgs + [e.container, e.publisher]:
                for variant in _variants(phrase):
                    about = any(w in subject for w in content_words(variant)) and phrase in orgs
                    names.append(Name(fold(variant), variant, key, phrase in persons, key in own or about))
        self.names = tuple(n for n in names if len(n.phrase) >= 3)

    def asked(self, text: str, topical: Callable[[str], bool], before: str | None = None) -> Shelf | None:
        """What a question asks of the bibliography, or None when it is not about the bibliography as a whole. A
        follow-up of a question `before` narrows its listing when it names a field of its own ("and which of those
        are books?" after "any 2017 sources?"): both are read as one question."""
        if before is not None:
            narrows = self._fields(text) and self.asked(before, topical) is not None
            return self.asked(f"{before} {text}", topical) if narrows else None
        c = cues()
        kinds, without = kinds_named(text), kinds_named(text, excluded=True)
        weak = bool(kinds or without or c.weak_noun.search(text) or c.mark.search(text))
        if not (c.noun.search(text) or weak):
            return None
        named, rest = self._named(text)
        if any(n.person for n in named) and not self._plural(text):
            return None  # "the Doe study", "Doe's book": one work, named by its author
        unknown = None if named else self._unknown_name(text, rest, topical)
        cited = next((k for k, cue in c.cited.items() if cue.search(text)), None)
        for pattern in [c.kind, *c.cited.values()]:
            rest = pattern.sub(" ", rest)
        left = [w for w in content_words(_YEAR.sub(" ", rest)) if w not in c.fillers and not w.isdigit()]
        if any(w not in self.subject for w in left if w not in content_words(unknown or "")):
            return None  # a word for something other than the works' fields: a topic, or unknown here
        years, lo, hi = year_filter(text)
        order = "oldest" if c.oldest.search(text) else "newest" if c.newest.search(text) else None
        together = bool(c.coauthored.search(text))
        fields = bool(years or lo or hi or named or unknown or order or cited or together)
        if not (c.noun.search(text) or c.mark.search(text) or fields):
            return None  # "which articles of the treaty ...", "what documents does the alliance have": not the works
        if not c.cue.search(text) and not ((fields or kinds or without) and self._plural(text)):
            return None  # no "which" or "how many": only a plural with a field asks for the set ("books before 2010?")
        shown = [n.shown for n in named]
        names = tuple(dict.fromkeys(x for x in shown if not any(x != y and x in y for y in shown)))
        keys = frozenset(n.key for n in named) if named or unknown else None
        names = names or ((unknown,) if unknown else ())
        return Shelf(years, lo, hi, kinds, keys, names, order, cited, bool(c.breakdown.search(text)), together, without)

    def _named(self, text: str) -> tuple[list[Name], str]:
        """The names of works a question gives, and its folded text without them (nor the article's own author and
        subject, which refer to the article)."""
        rest = fold(text)
        named = [n for n in self.names if re.search(self._pattern(n), rest, re.I)]
        for n in sorted(self.names, key=lambda n: -len(n.phrase)):
            if n in named or n.after_by:
                rest = re.sub(rf"(?<!\w){re.escape(n.phrase)}(?!\w)", " ", rest)
        return named, rest

    def _fields(self, text: str) -> bool:
        """Whether a text names a field a work can match: a year, a kind of work, a name a work goes by."""
        c, folded = cues(), fold(text)
        return bool(_YEAR.search(text) or c.kind.search(text)) or any(
            re.search(self._pattern(n), folded, re.I) for n in self.names
        )

    @staticmethod
    def _plural(text: str) -> bool:
        """Whether the question's noun for works (or kind of work) is plural: a set is asked."""
        c = cues()
        found = [m.group(0) for p in (c.noun, c.weak_noun, c.kind) for m in p.finditer(text)]
        return any(c.plural.fullmatch(f) for f in found)

    @staticmethod
    def _pattern(n: Name) -> str:
        """Where a name counts: anywhere, or (the article's own author, its subject) only after "by" or before a
        noun for works."""
        c, name = cues(), re.escape(n.phrase)
        if not n.after_by:
            return rf"(?<!\w){name}(?!\w)"
        by, before = rf"\b{c.by}\s+(?:the\s+)?{name}(?!\w)", rf"(?<!\w){name}(?:['’]s)?\s+(?:[a-z]+\s+)?{c.works}"
        return rf"{by}|{before}|(?<!\w){name}{c.role}"

    def _unknown_name(self, text: str, rest: str, topical: Callable[[str], bool]) -> str | None:
        """A capitalised name after "by" that no work goes by and the corpus does not know ("works by Smith"): asked,
        so nothing matches; a word the corpus knows is a topic instead ("sources from Kazakhstan")."""
        c = cues()
        m = re.search(rf"\b{c.by}\s+(?:the\s+)?([A-Z][\w'-]+(?:\s+[A-Z][\w'-]+){{0,2}})", text)
        name = []
        for word in m.group(1).split() if m and fold(m.group(1)) in rest else []:
            stems = content_words(word)
            if not stems or stems[0] in c.fillers or stems[0] in self.subject or topical(stems[0]) or _YEAR.match(word):
                break
            name.append(word)
        return " ".join(name) or None

    def matching(self, shelf: Shelf) -> list[SourceEntry]:
        """The works that match, in the bibliography's order."""
        found = [e for e in self.entries.values() if shelf.matches(e)]
        if shelf.cited in ("once", "never"):
            found = [e for e in found if self.cites.get(e.key, 0) == (1 if shelf.cited == "once" else 0)]
        if found and shelf.cited == "most":
            top = max(self.cites.get(e.key, 0) for e in found)
            found = [e for e in found if self.cites.get(e.key, 0) == top]
        if found and shelf.order:
            pick = (min if shelf.order == "oldest" else max)(e.year for e in found)
            found = [e for e in found if e.year == pick]
        return found

    def header(self, shelf: Shelf, found: list[SourceEntry]) -> str:
        """The answer's first line: how many works match, and by which fields (and of which kinds, if asked)."""
        criteria = shelf.criteria()
        if not found:
            return NOTHING.format(criteria=criteria or "any field")
        if not criteria:
            line = EVERYTHING.format(total=len(self.entries))
        else:
            line = HEADER.format(n=len(found), total=len(self.entries), criteria=criteria)
        if not shelf.by_kind:
            return line
        counts = Counter(e.kind for e in found)
        plural = lambda kind, n: " or ".join(w + "s" * (n > 1) for w in kind.split(" or "))  # noqa: E731
        parts = [f"{n} {plural(kind, n)}" for kind, n in counts.most_common()]
        listed = f"{', '.join(parts[:-1])} and {parts[-1]}" if len(parts) > 1 else parts[0]
        return f"{line[:-1]} — {listed}:"


def _variants(phrase: str) -> list[str]:
    """A name and the shorter forms a question may use: an organisation's initials ("Collective Security Treaty
    Organization" -> "CSTO"), the acronym before a publisher's generic words ("RAND Corporation" -> "RAND")."""
    phrase = phrase.replace("*", "").strip()
    if not phrase:
        return []
    out = [phrase]
    capitals = [w for w in re.findall(r"[A-Za-z][\w’'-]*", phrase) if w[0].isupper()]
    if len(capitals) >= 3:
        out.append("".join(w[0] for w in capitals))
    first, *rest = phrase.split()
    generic = cues().generic
    if len(first) >= 3 and first.isupper() and first.isalpha() and all(w.lower() in generic for w in rest):
        out.append(first)  # "RAND" for "RAND Corporation", not "NATO" for "NATO Association of Canada"
    return out


def kinds_named(text: str, excluded: bool = False) -> tuple[str, ...]:
    """The kinds of work a question names, each phrase read whole ("online articles" is a web page, not an
    article); with `excluded`, those it rules out instead ("not journal articles", "anything but books")."""
    c = cues()
    spans = (m for m in c.kind.finditer(text) if bool(c.negation.search(text[: m.start()])) == excluded)
    found = (next((k for p, k in c.kind_of if re.fullmatch(p, m.group(0), re.I)), None) for m in spans)
    return tuple(k for k in dict.fromkeys(found) if k)


def year_filter(text: str) -> tuple[tuple[int, ...], int | None, int | None]:
    """The years a question asks for: exact years, or a range ("before 2010", "since 2018", "between 2010 and 2015",
    "the 2010s")."""
    c = cues()
    found = [(m.start(), int(m.group(1)), bool(m.group(2))) for m in _YEAR.finditer(text)]
    if not found:
        return (), None, None
    if len(found) >= 2 and re.search(rf"^\s*{c.through}\s*$", text[found[0][0] + 4 : found[1][0]], re.I):
        return (), min(found[0][1], found[1][1]), max(found[0][1], found[1][1])  # "2010 to 2015", "2010-2015"
    exact, lo, hi = [], None, None
    if any(decade for _, _, decade in found):  # "the 2010s (2010-2019)"
        year = next(y for _, y, decade in found if decade)
        return (), year, year + 9
    for at, year, _ in found:
        cue = _cue_before(text[:at])
        if cue == "before":
            hi = year - 1
        elif cue == "until":
            hi = year
        elif cue == "after":
            lo = year + 1
        elif cue == "since":
            lo = year
        else:
            exact.append(year)
    return tuple(exact), lo, hi


def _cue_before(before: str) -> str | None:
    """Which comparison ends the text before a year ("before", "until", "after", "since"), if any."""
    c = cues()
    for name, cue in (("before", c.before), ("until", c.until), ("after", c.after), ("since", c.since)):
        if re.search(rf"\b{cue}\s+(?:the\s+(?:year\s+)?)?$", before, re.I):
            return name
    return None


def citation_counts(passages: Iterable[Passage]) -> dict[str, int]:
    """How many times the article's text cites each work (each in-text citation once, though chunks overlap)."""
    seen = {(c.key, c.start) for p in passages if p.kind == "article" for c in p.citations}
    return dict(Counter(key for key, _ in seen))


def entry_sentences(found: list[SourceEntry], cards: dict[str, Passage], rows: dict[str, list[int]]) -> list[Sentence]:
    """Each work's entry as printed, quoted from the start of its card."""
    out = []
    for entry in found:
        card = cards.get(entry.key)
        if card is not None and card.text.startswith(entry.raw):
            out.append(Sentence(card, 0, len(entry.raw), rows.get(card.id, [0])[0]))
    return out



def shelf_text(header: str, cites: list[Citation], whole: int) -> str:
    """The answer: the header, then each work's entry quoted with its [n] when at most `whole` works match, else each
    work named by its label with its [n] (the entries are quoted in the citations)."""
    if len(cites) <= whole:
        return f"{header} {render(cites)}"
    labels = [f"{c.sources[0].label if c.sources else c.section} [{c.n}]" for c in cites]
    listed = ", ".join(labels[:-1]) + f" and {labels[-1]}" if len(labels) > 1 else labels[0]
    return f"{header} {listed}."
