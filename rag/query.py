"""Stage 1, parse: the question is read once into a typed `Query` that every later stage consumes.

A `Query` holds the normalised text, the follow-up's resolved reading (what is searched), the intent, and the slots
the policy needs: how many sentences a summary asks for, the part of the article it names, the years it names,
whether it asks for someone's view (a reporting verb: "what does Doe contend?"), and what a question about the
bibliography as a whole asks of it (rag/catalogue.py).
The intent comes from a classifier fitted on the dev sets' categories (rag/data/reader.npz, `eval/fit.py`); a
summary request and a question about years after the article's horizon are recognised from the lexicon and the
index, not from the classifier.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Literal

import numpy as np

from rag.catalogue import Shelf
from rag.lexicon import lexicon
from rag.text import content_words, figures, words, years

Intent = Literal["fact", "number_date", "list", "attribution", "bibliography", "synthesis", "summary", "out_of_scope"]
INTENTS: tuple[str, ...] = ("fact", "number_date", "list", "attribution", "bibliography", "synthesis")
"""The intents the classifier chooses between (summary and out_of_scope are set by `parse` itself)."""

Turn = dict[str, str]


@dataclass(frozen=True)
class IntentModel:
    """A linear classifier over the question's embedding: scores = vector @ weights + bias."""

    labels: tuple[str, ...]
    weights: np.ndarray
    bias: np.ndarray

    def predict(self, vector: np.ndarray, exclude: frozenset[str] = frozenset()) -> str:
        """The most likely intent not excluded ("fact" when no model was fitted)."""
        if not self.labels:
            return "fact"
        scores = vector @ self.weights + self.bias
        ranked = [self.labels[i] for i in np.argsort(-scores)]
        return next(label for label in ranked if label not in exclude)


@dataclass(frozen=True)
class Query:
    """A question read once: what it says, what to search, what kind of answer it wants."""

    asked: str
    text: str
    search: str
    intent: Intent
    vector: np.ndarray = field(repr=False)
    search_vector: np.ndarray = field(repr=False)
    followup: bool = False
    count: int | None = None
    part: str | None = None
    years: tuple[int, ...] = ()
    terms: tuple[str, ...] = ()
    answer_type: str | None = None
    asks_place: bool = False  # "where", "which city": the answer must name a place
    asks_view: bool = False  # a reporting verb ("what does Doe contend?"): someone's view, not a work, is asked
    figures: tuple[str, ...] = ()  # figures the question names ("Protocol 3"): the answer must state them
    names: tuple[str, ...] = ()
    said: tuple[str, ...] = ()  # a follow-up's: the content words of the answer it follows
    bare: bool = False  # a bare topic ("Vzaimodeystviye"): what the sources say about it is asked
    shelf: Shelf | None = None  # a question about the bibliography as a whole: the fields its works must match

    @property
    def summary(self) -> bool:
        """Whether a summary (of the article or of a part of it) is asked."""
        return self.intent == "summary"


def normalise(question: str) -> str:
    """The question without a conversational opener or a polite wrapper ("ok so, can you tell me when ..." -> "When
    ..."), casual fillers ("basically", "lol") or a closing tag ("..., right?")."""
    core = lexicon().lead_in.sub("", question.strip(), count=1).strip() or question.strip()
    core = lexicon().question_tag.sub("?", lexicon().fillers.sub("", core))
    core = re.sub(r"\s+([,?!.])", r"\1", core).strip(" ,") or question.strip()
    return core[:1].upper() + core[1:]


def turns_of(history: Sequence[Turn] | None, role: str) -> list[str]:
    """The texts of one role's earlier turns, oldest first."""
    return [t["content"] for t in history or [] if t.get("role") == role]


def user_turns(history: Sequence[Turn] | None) -> list[str]:
    """The user's earlier questions, oldest first."""
    return turns_of(history, "user")


def last_answer(history: Sequence[Turn] | None) -> str:
    """The assistant's latest reply ("" when there is none)."""
    replies = turns_of(history, "assistant")
    return replies[-1] if replies else ""


def about_itself(text: str) -> str:
    """A question opening a conversation whose pronoun can point only at the article ("who authored it?" asks who
    authored the article): read so when it asks nothing but the fields of a work (lexicon [card_fields])."""
    lex = lexicon()
    pronoun = re.search(r"\b(" + "|".join(lex.itself) + r")\b", text, re.I)
    if not pronoun or not set(content_words(text)) <= _field_words():
        return text
    return text[: pronoun.start()] + lex.itself[pronoun.group(1).lower()] + text[pronoun.end() :]


@cache
def _field_words() -> frozenset[str]:
    """The stemmed words that name any field of a work (lexicon [card_fields]), read once."""
    return frozenset(content_words(" ".join(w for ws in lexicon().card_fields.values() for w in ws)))


def is_bare_topic(text: str) -> bool:
    """A topic typed as into a search box ("Boyevoye Bratstvo", "the Collective Air Defense"): a few words, none of
    which asks."""
    lex = lexicon()
    tokens = words(text)
    return 0 < len(tokens) <= lex.bare_words and all(w in lex.connectors or w not in lex.stopwords for w in tokens)


def is_followup(text: str, history: Sequence[Turn] | None) -> bool:
    """A question that leans on the conversation: it points back ("when was that?") or names at most one thing
    ("why?", "the year?")."""
    return bool(user_turns(history)) and (bool(lexicon().pointing_back.search(text)) or len(content_words(text)) <= 1)


def requested_count(text: str) -> int | None:
    """ "in three sentences", "2 points": how many sentences are asked for."""
    m = lexicon().count.search(text)
    if not m:
        return None
    word = m.group(1).lower()
    return int(word) if word.isdigit() else lexicon().number_words.get(word)


def answer_type(text: str) -> str | None:
    """What kind of thing the question asks for ("year", "number"), by its wh-phrase; None for anything else."""
    found = [(m.start(), kind) for kind, cue in lexicon().answer_types.items() if (m := cue.search(text))]
    return min(found)[1] if found else None


def proper_names(text: str) -> tuple[str, ...]:
    """Capitalised words that do not open the question or a sentence of it ("Kant", "India")."""
    out = []
    for m in re.finditer(r"(?<=[\w,;:)] )[A-Z][\w'’-]+", text):
        out.append(m.group(0).split("'")[0].split("’")[0])
    return tuple(dict.fromkeys(out))


def summary_asked(text: str, topical: Callable[[str], bool]) -> bool:
    """A summary of the article, or of a part it names, is asked: a summary cue, and no topic of the question's own
    once the cue, the part, the count and the words that go with any summary request are set aside ("summarise the
    conclusion in two lines" is a summary; "summarise Belarus's place in the alliance" asks about Belarus, briefly)."""
    lex = lexicon()
    if not lex.summary.search(text):
        return False
    rest = lex.count.sub(" ", lex.summary.sub(" ", text))
    for part in lex.parts:
        rest = part.cue.sub(" ", rest)
    fillers = set(content_words(lex.summary_fillers))
    return not any(topical(w) for w in content_words(rest) if w not in fillers)


def named_part(text: str) -> str | None:
    """The part of the article the question names ("the conclusion", "the abstract"), if any."""
    for part in lexicon().parts:
        if part.cue.search(text):
            return part.name
    return None


def parse(
    asked: str,
    history: Sequence[Turn] | None,
    embed: Callable[[list[str]], list[np.ndarray]],
    intents: IntentModel,
    late: Callable[[tuple[int, ...]], bool],
    spell: Callable[[str], str] = lambda text: text,
    topical: Callable[[str], bool] = lambda word: False,
    shelf: Callable[[str, str | None], Shelf | None] = lambda text, before: None,
) -> Query:
    """Read a validated question (and its conversation) into a Query; `late(years)` says whether years named in a
    question lie after what the article can cover (rag.refuse.Horizon.after); `spell` corrects typos
    (rag.spelling.Speller.correct); `topical(word)` says whether a (stemmed) word names a topic within the article
    rather than the article itself (rag.read.Reader.topical); `shelf(text, before)` reads a question about the
    bibliography as a whole, or a follow-up narrowing one asked `before` (rag.catalogue.Catalogue.asked)."""
    text = spell(normalise(asked))
    text = text if user_turns(history) else about_itself(text)
    followup = is_followup(text, history)
    search = f"{spell(user_turns(history)[-1])} {text}" if followup else text
    vector, search_vector = (lambda v: (v[0], v[-1]))(embed([text, search] if followup else [text]))
    named = tuple(years(text))
    intent: Intent
    wanted = shelf(text, spell(user_turns(history)[-1]) if followup else None)
    if wanted is not None:
        intent = "bibliography"
    elif late(named):
        intent = "out_of_scope"
    elif summary_asked(text, topical):
        intent = "summary"
    else:  # a number or date is asked only by a question that asks for a year or a number
        kind = answer_type(text)
        exclude = frozenset() if kind else frozenset({"number_date"})
        intent = intents.predict(search_vector if followup else vector, exclude)  # type: ignore[assignment]
    return Query(
        asked=asked,
        text=text,
        search=search,
        intent=intent,
        vector=vector,
        search_vector=search_vector,
        followup=followup,
        count=requested_count(text),
        part=named_part(text),
        years=named,
        terms=content_words(search),
        answer_type=answer_type(text),
        asks_place=bool(lexicon().place_asked.search(text)),
        asks_view=bool(lexicon().reporting.search(text)),
        figures=figures(text),
        names=proper_names(text),
        said=content_words(last_answer(history)) if followup else (),
        bare=not followup and is_bare_topic(text),
        shelf=wanted,
    )
