"""The public Python API: `Assistant.from_settings().ask(question, history)` returns a typed, cited Answer."""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NamedTuple

from index import offline
from index.errors import InvalidQuestionError
from index.settings import Settings, load_settings
from index.store import IndexHandle, open_index
from index.types import Passage
from rag.compose import DEPTH, WIDE_DEPTH, Composer, american, content_words, question_type, render
from rag.history import validate_history  # issue 29: bounded history
from rag.live import LiveIndex, runs_on_one_generation  # issue 29: a running Assistant follows re-indexing
from rag.retrieve import part_second, with_parts
from rag.types import Answer, CitingPassage, ScoredPassage, SourceView
from rag.verify import ends_with_abbreviation

REFUSAL = "The indexed sources don't say (asked: {topic}). The closest passages are listed below."
_ANAPHORA = re.compile(
    r"\b(it|its|they|them|their|he|she|his|her|these|those|the same|the operation|the organi[sz]ation|"
    r"the alliance|the exercise|the drill)\b|^(and|but|what about|how about|also)\b|"
    r"\b(?:is|was|were|are|did|does|do|has|have|about|of|for|with|from|behind|after|before|in|on|to) (?:that|this)\b|"
    r"\b(?:that|this) one\b|\bthe (?:latter|former)\b|"
    # "who else is involved?", "any rows with the Russians, though?": measured against what was said before
    r"\b(?:who|what|where|which|anyone|anything|anybody|someone|something|somebody) else\b|,? though\s*\??\s*$",
    re.I,
)

# the author's own earlier work, cited in the article ("an earlier piece of her own", "does she cite herself")
_OWN_WORK = re.compile(
    r"\bown (?:\w+ )?(?:works?|pieces?|articles?|papers?|writings?|publications?|research|op-eds?|blog posts?)\b|"
    r"\b(?:works?|pieces?|articles?|papers?|writings?|publications?) (?:of|by) (?:her|his|their) own\b|"
    r"\bcit(?:e|es|ed|ing) (?:herself|himself|themselves)\b|\bself-cit",
    re.I,
)

_REFERS_BACK = re.compile(
    r"\b(?:it|its|they|them|their|he|she|his|her|these|those|that|this|the same|else)\b|,? though\s*\??\s*$", re.I
)

History = Sequence[dict[str, str]] | Sequence[tuple[str, str]] | None


def validate_question(question: object, max_chars: int) -> str:
    """Return the cleaned question or raise InvalidQuestionError with one line."""
    if not isinstance(question, str):
        raise InvalidQuestionError("the question must be text")
    if "\x00" in question or any(
        unicodedata.category(ch) in ("Cc", "Cs", "Co") and ch not in "\n\t\r" for ch in question
    ):
        raise InvalidQuestionError("the question contains control or binary characters; type plain text")
    cleaned = " ".join(question.split())
    if not cleaned:
        raise InvalidQuestionError("the question is empty; ask something about the article")
    if len(cleaned) > max_chars:
        raise InvalidQuestionError(f"the question is {len(cleaned)} characters long; the limit is {max_chars}")
    if not any(ch.isalnum() for ch in cleaned):
        raise InvalidQuestionError("the question has no words; ask something about the article")
    return cleaned


_WRAPPER = re.compile(
    r"^(?:(?:can|could|would|will) you (?:please )?(?:tell me|say|explain|let me know|find out)|"
    r"i(?:'m|’m| am) (?:trying|wanting|looking|hoping) to (?:find out|know|understand|learn)|"
    r"i(?:'d|’d| would) like to (?:know|understand|find out)|i (?:want|need) to know|i wonder|"
    r"do you know|please(?: tell me)?|tell me|"
    # the user's own errand: "I'm writing an essay on the CSTO —", "For my thesis on Eurasian security:"
    r"(?:i(?:'m|’m| am) (?:writing|doing|preparing|working on|researching)|for) (?:an? |my |our )?"
    r"(?:essay|paper|thesis|dissertation|report|class|course|seminar|presentation|assignment|project|research|"
    r"(?:policy )?brief|briefing|article|story|piece|blog post|lecture|exam|podcast)"
    r"(?: (?:on|about) [^,:;—–?]{1,60})?\s*[,:;—–-]+)\s*",
    re.I,
)


# a reply's opening word before the question proper ("Ok and who joined afterwards?", "Thanks. So what ...")
_OPENER = re.compile(
    r"^(?:(?:(?:ok(?:ay)?|alright|all right|thanks|thank you|got it|i see|hm+|so)(?=[\s,.!;:—–])|"
    r"(?:great|cool|right|well|perfect|nice|interesting)(?=\s*[,.!;:—–]))[\s,.!;:—–-]*)+",  # "Great Britain" stays
    re.I,
)


def core_question(question: str) -> str:
    """The question without a conversational opener or a polite wrapper: "Ok, can you tell me which ..." ->
    "Which ..."."""
    core = _OPENER.sub("", question.strip(), count=1)
    core = _WRAPPER.sub("", core or question, count=1).strip()
    for short, word in _SHORTHAND:  # "the CSTO's HQ": general shorthand, spelled out as the article writes it
        core = short.sub(word, core)
    core = american(core)  # "defence", "organisation": the article's American spelling
    return core[:1].upper() + core[1:] if core else question


# general English shorthand users type, not the article's own acronyms (those are read from the article)
_SHORTHAND = [
    (re.compile(r"\bHQs?\b"), "headquarters"),
    (re.compile(r"\bgov(?:'|’)?t\b", re.I), "government"),
    (re.compile(r"\bint(?:'|’)l\b", re.I), "international"),
    (re.compile(r"\bintel\b", re.I), "intelligence"),
    (re.compile(r"\bhead ?offices?\b", re.I), "headquarters"),
    # idioms read as the plain word (MiniLM relates "original members" to "originally", not to "the very start")
    (
        # ("at the start" may be the article's: the structure cues read it)
        re.compile(r"\b(?:right )?(?:from|since) the (?:very )?(?:start|beginning|outset|get-go|first)\b(?! of)", re.I),
        "originally",
    ),
    (re.compile(r"\b(?:keep|keeps|kept|keeping) (.{1,40}?) at arm(?:'|’)?s(?:'|’)? length\b", re.I), r"avoid \1"),
    (re.compile(r"\b(?:steer|steers|steered|steering) clear of\b", re.I), "avoid"),
    (re.compile(r"\bnothing (?:more|other) than\b|\bnothing but\b", re.I), "only"),
    # "where's X based", "which city is X headquartered in": where its headquarters are based
    (
        re.compile(
            r"\b((?:where|which city|what city|which town|what town)\b[^?]{0,60}?)\b(?:based|headquartered)\b", re.I
        ),
        r"\1headquarters based",
    ),
    (re.compile(r"\bkey-?words\b", re.I), "key words"),  # as the article prints them
    (re.compile(r"\bemail\b", re.I), "e-mail"),
]


def user_turns(history: History) -> list[str]:
    """The user's earlier questions, oldest first, from [{role, content}] or [(user, assistant)] history."""
    turns: list[str] = []
    for item in history or []:
        if isinstance(item, dict):
            if item.get("role") == "user" and isinstance(item.get("content"), str):
                turns.append(item["content"])
        elif isinstance(item, list | tuple) and item and isinstance(item[0], str):
            turns.append(item[0])
    return turns


def last_answer(history: History) -> str:
    """The assistant's last reply in the history ('' when there is none)."""
    for item in reversed(list(history or [])):
        if isinstance(item, dict):
            if item.get("role") == "assistant" and isinstance(item.get("content"), str):
                return str(item["content"])
        elif isinstance(item, list | tuple) and len(item) > 1 and isinstance(item[1], str):
            return item[1]
    return ""


_NAME_RUN = re.compile(r"(?<![\w])[A-Z][\w’'\-]+(?:\s+[A-Z][\w’'\-]+)*")


def answer_names(text: str, limit: int = 3, skip: frozenset[str] | set[str] = frozenset()) -> list[str]:
    """The first few names of a reply ("Operation Kanal", "Nayemnik"), without capitals that only open a
    sentence, without a possessive 's, and without the names in `skip` (lower-case: the corpus's ubiquitous ones,
    "CSTO", which say nothing of what "it" is): what a follow-up's "it" most likely refers to."""
    text = re.sub(r"\[\d+\]|\([^()]*\)", " ", text.replace("*", ""))  # no markers, no cited authors
    out: list[str] = []
    for m in _NAME_RUN.finditer(text):
        opens = m.start() == 0 or re.search(r"[.!?:]\s*$", text[: m.start()]) is not None
        name = m.group(0).split(maxsplit=1)[1] if opens and " " in m.group(0) else "" if opens else m.group(0)
        if opens and text.strip(" .!?\n") == m.group(0):  # a reply that is a name and nothing else: "Kazakhstan."
            name = m.group(0)
        name = re.sub(r"['’]s$", "", name)
        if name and name not in out and name.lower() not in skip:
            out.append(name)
        if len(out) >= limit:
            break
    return out


def question_sentences(question: str) -> list[str]:
    """A question's sentences: split where a full stop, ! or ? is followed by a capital, but not after an
    abbreviation ("(i.e. Moscow)") nor inside parentheses."""
    out: list[str] = []
    for piece in re.split(r"(?<=[.!?])\s+(?=[A-Z])", question.strip()):
        if out and (ends_with_abbreviation(out[-1]) or out[-1].count("(") > out[-1].count(")")):
            out[-1] += " " + piece
        elif piece:
            out.append(piece)
    return out


def final_question(question: str) -> str:
    """The last sentence of a question that opens with a premise ("Critics say X. What's the case for them?");
    the question itself otherwise."""
    parts = question_sentences(question)
    asking = [i for i, p in enumerate(parts) if p.endswith("?")]
    if asking and asking[-1] < len(parts) - 1:  # "When did X quit? I need the year.": the question and its rider
        return " ".join(parts[asking[-1] :])
    return parts[-1] if len(parts) > 1 and len(content_words(parts[-1])) >= 1 else question


# the words of a last sentence that only asks what the sources say about the sentence before it
_META_WORDS = frozenset(
    content_words(
        "what does the article paper author text piece say says said think argue argues view take make of it this "
        "that on each both side sides case for against either way overall verdict conclude"
    )
)


def _only_meta(text: str) -> bool:
    """Whether a sentence only asks what the sources say ("What does the article say on each side?")."""
    return not set(content_words(text)) - _META_WORDS


_SECOND_PART = re.compile(
    r",? and (?=(?:is|are|was|were|does|do|did|has|have|what|which|how|where|who|when|why|whom|whose)\b|"
    # "When was it founded, and on the basis of which agreement?": a preposition's phrase, then which/what
    r"(?:on|in|at|by|from|with|under|through|for|to|after) (?:the |a )?(?:\w+ ){0,2}?(?:of )?(?:which|what|whom)\b)",
    re.I,
)


def second_part(question: str) -> str:
    """The second question of a compound one ("What is X supposed to do, and is it up and running?" -> "Is it up
    and running?"); '' when there is none."""
    m = _SECOND_PART.search(question)
    part = question[m.end() :].strip() if m else ""
    # two content words on each side; one will do when a wh-word opens the second ("when was it set up and what's
    # it supposed to do?"): "and what" is no list of things
    least = 1 if re.match(r"(?:\w+ ){0,4}?(?:what|which|how|where|who|when|why|whom)\b", part, re.I) else 2
    if not m or len(content_words(question[: m.start()])) < least:
        return ""
    return part[:1].upper() + part[1:] if len(content_words(part)) >= least else ""


def sub_questions(question: str, least: int = 2) -> list[str]:
    """What a turn asks, each on its own: its sentences, and a compound sentence's two parts ("How does the author
    split the alliance, and what follows from it?" -> both questions); one item when it asks one thing."""
    parts: list[str] = []
    for sentence in question_sentences(question):
        second = second_part(sentence)
        first = sentence[: _SECOND_PART.search(sentence).start()] if second else sentence  # type: ignore[union-attr]
        parts += [p for p in (first, second) if len(content_words(p)) >= least]
    return parts if len(parts) > 1 else [question]


# the tail of a question after a colon or a spaced dash ("Give me an overview of its operations — terrorism, drugs,
# borders and cyber"), and "both X and Y": the facets a picture is asked along
_FACET_TAIL = re.compile(r"(?::|\s[—–-]\s)\s*(?P<tail>[^:—–?]+?)[\s?.!]*$")
_BOTH = re.compile(r"\bboth (?P<a>[^,;:?]+?) and (?P<b>[^,;:?]+)")


def facets(question: str, names: Callable[[str], list[str]]) -> list[str]:
    """The facets a question enumerates, each with the names of what it is about ("Give me an overview of the
    CSTO's operations — terrorism, drugs, borders and cyber" -> "terrorism", "drugs", ...; "Tell me about the CRRF:
    what they are for, how they train" -> "what they are for CRRF", ...): each is searched on its own."""
    out: list[str] = []
    tail = _FACET_TAIL.search(question)
    if tail:
        items = re.split(r",\s*(?:and\s+|or\s+)?|;\s*|\s+(?:and|or)\s+", tail.group("tail"))
        items = [re.sub(r"^(?:both|either)\s+", "", i.strip(), flags=re.I) for i in items if content_words(i)]
        if len(items) >= 2:
            about = " ".join(names(question[: tail.start()]))
            out += [f"{i} {about}".strip() for i in items]
    for both in _BOTH.finditer(question):
        about = " ".join(names(question[: both.start()]))
        items = [both.group(x).strip().rstrip(".!") for x in ("a", "b")]
        out += [f"{i} {about}".strip() for i in items if content_words(i)]
    return list(dict.fromkeys(out))


_SWITCH = re.compile(
    r"^(?:and|but|so|ok(?:ay)?|now)?,?\s*(?:(?:what|how) about|what of|and for|same (?:question )?for|and)\s+"
    r"(?:for\s+)?(?:the\s+)?(?P<name>[^?,;]{2,60}?)\s*(?:then|instead|too)?\s*\??$",
    re.I,
)


def switched_question(
    question: str, history: History, entities: Callable[[str], list[str]], countries: frozenset[str] = frozenset()
) -> str:
    """An elliptical follow-up that only names another thing ("And Kazakhstan?", "What about the CSTO?") read as
    the previous question asked of it ("What does Belarus think of the CSTO?" -> "What does Kazakhstan think of
    the CSTO?"); '' when the question is not such a switch or the previous one names no single thing to swap."""
    m = _SWITCH.match(question.strip())
    previous = user_turns(history)[-1:]
    if not m or not previous:
        return ""
    name = m.group("name").strip()
    if len(name.split()) > 5 or not (name[:1].isupper() or entities(f"What is {name}?")):  # a name, not a clause
        return ""
    before = core_question(previous[0])
    names = [n for n in entities(before) if n.lower() not in name.lower() and name.lower() not in n.lower()]
    if len(names) != 1 or (name in countries) != (names[0] in countries):
        return ""  # one thing of the same kind to swap: "Belarus" does not stand for "Russian" in "Russian weapons"
    swapped, count = re.subn(rf"(?<!\w){re.escape(names[0])}(?!\w)", name, before, count=1)
    return swapped if count else ""


def retrieval_query(
    question: str, history: History, turns: int, skip: frozenset[str] | set[str] = frozenset(), force: bool = False
) -> str:
    """The question, preceded by the previous user turn(s) and the names the last reply opened with (less those in
    `skip`), when it is an elliptical follow-up (`force`: read it as one in any case)."""
    previous = user_turns(history)[-turns:] if turns else []
    names = [w for w in question.split()[1:] if w[:1].isupper()]
    if previous and (force or _ANAPHORA.search(question) or (len(content_words(question)) <= 2 and not names)):
        return " ".join([*previous, *answer_names(last_answer(history), skip=skip), question])
    return question


class _Generation(NamedTuple):  # issue 29: what the Assistant builds from one index generation
    handle: IndexHandle
    retriever: Any
    composer: Composer


class Assistant:
    """Answers questions about the article and its cited works, with a citation on every sentence."""

    def __init__(self, settings: Settings, handle: IndexHandle, embedder: Any) -> None:
        self.settings = settings
        self._embedder = embedder
        # issue 29: the index generation in use lives in a LiveIndex (rag/live.py); each public call below runs on
        # one generation and a newer one is taken up between calls. handle/retriever/composer read that generation.
        self.live = LiveIndex(settings, self._open_generation, handle=handle)
        self._llm: Any = None

    def _open_generation(self, handle: IndexHandle) -> _Generation:  # issue 29
        from rag.retrieve import HybridRetriever

        retriever = HybridRetriever(handle, self._embedder, self.settings.top_k)
        composer = Composer(handle, self.settings.max_sentences, self.settings.refusal_threshold)
        return _Generation(handle, retriever, composer)

    @property
    def handle(self) -> IndexHandle:  # issue 29: the generation this call runs on
        return self.live.get().handle

    @property
    def retriever(self) -> Any:  # issue 29
        return self.live.get().retriever

    @property
    def composer(self) -> Composer:  # issue 29
        return self.live.get().composer

    @classmethod
    def from_settings(cls, settings: Settings | None = None, **overrides: Any) -> Assistant:
        """Open the built index named by the settings (env CSTO_QA_* plus overrides); never touches the network."""
        settings = settings or load_settings(**overrides)
        offline.configure_llama_index()
        from index.embed import load_embedder

        handle = open_index(settings)
        embedder = load_embedder(settings.resolved_model_path(), settings.torch_threads)
        return cls(settings, handle, embedder)

    @runs_on_one_generation  # issue 29
    def retrieve(self, question: str, history: History = None, k: int | None = None) -> list[ScoredPassage]:
        """Ranked passages for a question (follow-ups use the conversation)."""
        validate_history(history, self.settings.max_history_turns, self.settings.max_history_chars)  # issue 29
        q = core_question(validate_question(question, self.settings.max_question_chars))
        query = retrieval_query(q, history, self.settings.history_turns, self.composer.ubiquitous)
        return self.retriever.retrieve(query, k=k)

    @runs_on_one_generation  # issue 29
    def ask(
        self, question: str, history: History = None, generator: str | None = None, top_k: int | None = None
    ) -> Answer:
        """Answer with verbatim, cited sentences, or refuse and show the closest passages."""
        validate_history(history, self.settings.max_history_turns, self.settings.max_history_chars)  # issue 29
        t0 = time.perf_counter()
        asked = validate_question(question, self.settings.max_question_chars)
        q = core_question(asked)
        # "And Kazakhstan?": the last question again, asked of another thing of the same kind
        q = switched_question(q, history, self.composer.entities, self.composer.countries) or q
        turns, skip = self.settings.history_turns, self.composer.ubiquitous
        query = retrieval_query(q, history, turns, skip)
        if query == q and turns and user_turns(history):
            # a question asked in a conversation without pointing back may still lean on it ("What's the case people
            # usually point to?" after "Why do people say the CSTO is useless in a crisis?"): read it with the
            # conversation too, and answer with that reading when it passes and its evidence is stronger
            forced = retrieval_query(q, history, turns, skip, force=True)
            alone = self._answer(asked, q, query, history, "extractive", top_k, t0, later=[forced])
            again = self._answer(asked, q, forced, history, "extractive", top_k, t0)
            if not again.refused and (alone.refused or again.evidence_strength > alone.evidence_strength):
                query, alone = forced, again
            if alone.refused or (generator or self.settings.generator) != "llm":
                return alone
        return self._answer(asked, q, query, history, generator, top_k, t0)  # (the LLM asked once, if at all)

    def _answer(
        self,
        asked: str,
        q: str,
        query: str,
        history: History,
        generator: str | None,
        top_k: int | None,
        t0: float,
        later: Sequence[str] = (),
    ) -> Answer:
        """The answer to `q` (the user's `asked`, cleaned) retrieved with `query` (`q` or a follow-up's reading);
        `later`: other readings this turn will search next (embedded in the same batch)."""
        # "an earlier piece of her own": the article's author is the cited work's author
        author = f" {self.composer.author.title()}" if _OWN_WORK.search(q) and self.composer.author else ""
        search = query + author
        final = final_question(q)
        split = sub_questions(q)  # what the turn asks, part by part, and the facets it enumerates (read once)
        listed = facets(q, self.composer.entities)
        parts = [p for p in split if p != q] + listed if query == q else []
        # "how far along is it?" alone finds "as far as ..."; "what does the article say?" alone finds its title page
        parts = [p for p in parts if not self._vague(p) and not _only_meta(p)]
        # a follow-up, or a premise then a question ("Critics say X. What's the case for them?"): its own words count
        own_words = (q if query != q else final) if query != q or final != q else None
        if own_words == final != q and _only_meta(final):
            own_words = None  # "Is it just Moscow's tool? What does the article say on each side?": the first asks
        # a compound question ("..., and is it up and running?", "Why X? Give the case usually cited."): each part
        # brings its best sentence too (a follow-up's parts too: "Which body instead? When did it come into force?"),
        # and so does each facet it enumerates
        asks = [*(split if len(split) > 1 else [p for p in [second_part(final)] if p]), *listed]
        asks = [p for p in asks if not _only_meta(p)]  # "What does the article say on each side?" asks nothing new
        # every text this turn reads, embedded in one batch
        searched = [p + author for p in parts]
        vectors = self.retriever.embed_queries(
            [search, *searched, *([own_words] if own_words else []), *asks] + [t + author for t in later]
        )
        qvec = vectors[0]
        t1 = time.perf_counter()
        retrieved = self.retriever.retrieve(search, vector=qvec)
        qt = question_type(final)  # an explanation or a list may stand further down: two passages more are read
        depth = WIDE_DEPTH if (qt.reason or qt.listing) and query == q else DEPTH  # (a follow-up's stay on topic)
        if parts:  # a compound question, or one enumerating facets: each part's best passages are read too (its
            part_vectors = vectors[1 : 1 + len(searched)]  # words drown in the whole question's)
            rankings = [self.retriever.retrieve(p, vector=v) for p, v in zip(searched, part_vectors, strict=True)]
            retrieved, depth = with_parts(retrieved, rankings, depth)
        named_part = self.composer.named_part(q)  # a part of the article the question names ("the paper's summary")
        retrieved = part_second(retrieved, named_part, self.handle.passages)
        t2 = time.perf_counter()
        focus = self.retriever.embed_query(own_words) if own_words else None
        # a follow-up naming a new thing without a pronoun for the old one ("And the Air Bridge one?") is about it;
        # one that points back ("do they ever clash with Moscow?") is about what the conversation was about
        named_here = [e for e in self.composer.entities(q) if e.lower() not in self.composer.ubiquitous]
        new = named_here if not _REFERS_BACK.search(q) else []
        topic = (new or self._topic_names(history)) if query != q else None
        cands = self.composer.candidates(retrieved, depth)  # read once: a compound question's parts reuse them
        scored = self.composer.score(q if focus is not None else query, qvec, cands, focus=focus, topic=topic)
        strength = self.composer.evidence(scored, q, context=search if search != q else "")
        shown = retrieved[: top_k or self.settings.top_k]
        timings = {"embed": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000}
        # a cited person's work asked about as a whole ("What are Shakhanova's main claims?"): every sentence citing it
        whole = [] if qt.bibliographic or qt.when or qt.number else self.composer.source_asked(q)
        chosen = self.composer.citing(whole) if whole else []
        chosen = chosen or self.composer.select(scored, question=final, asked=q)  # what is asked, not the premise
        # a question about a cited work's entry stays one when its last sentence is short ("Nikitin 2014 in the
        # references — was that a journal article? Where was it presented?")
        entry_asked = question_type(q).bibliographic and not question_type(final).bibliographic
        checked = q if entry_asked else final
        unmet = "" if whole else self.composer.unmet(checked, chosen, asked=q)
        each = sub_questions(checked, least=1) if unmet else []
        if len(each) > 1 and not any(self.composer.unmet(p, chosen, asked=q) for p in each):
            unmet = ""  # "How much has it seized, and who watches over it?": each question's own words are checked
        if (strength < self.settings.refusal_threshold and not whole) or unmet:
            timings["compose"] = (time.perf_counter() - t2) * 1000
            timings["total"] = (time.perf_counter() - t0) * 1000
            return Answer(
                question=asked,
                text=REFUSAL.format(topic=_topic(asked)),  # the user's own words
                refused=True,
                closest=shown,
                retrieved=retrieved,
                timings_ms=timings,
                evidence_strength=strength,
                checks_failed=unmet,
            )
        quoted = chosen if whole else self.composer.with_neighbours(scored, chosen, final, asked=q)
        # each part's and facet's best sentence (context only: the checks above were passed by the first choice)
        names = self.composer.entities(final)
        for part in [] if whole else asks:
            own = self.retriever.embed_query(part)  # read with the whole question, as a follow-up is
            pool = cands
            if not names and (self._vague(part) or (len(content_words(part)) < 3 and part not in listed)):
                held = {c.cand.passage.id for c in quoted}  # "how far along is it?": the quoted passages' subject
                pool = [c for c in pool if c.passage.id in held]
            also = self.composer.score(part, qvec, pool, focus=own, topic=names)
            if also and self.composer.evidence(also, part) >= self.settings.refusal_threshold:
                quoted = self.composer.add_one(quoted, also)
        # an open question (a picture, an explanation, "what does X think") names the works behind its answer: up to
        # three close sentences citing a work not yet cited; a date, number, place, person, list, "who says" or
        # reference question keeps its focused answer
        slotted = qt.when or qt.number or qt.where or qt.who_is or qt.listing or qt.source or qt.bibliographic
        if not whole and (question_type(q).broad or not slotted):
            mine = [s for s in scored if s.cand.passage.id in named_part]  # "What is this paper about?": that part
            quoted = self.composer.with_other_works(quoted, mine or scored)
        # a quoted sentence pointing back ("This is problematic as ...") comes with what it points to
        quoted = quoted if whole else self.composer.with_antecedents(quoted, scored)
        citations = self.composer.citations(quoted)
        answer = Answer(
            question=asked,
            text=render(citations, question_type(q).source),
            citations=citations,
            retrieved=retrieved,
            timings_ms=timings,
            evidence_strength=strength,
        )
        timings["compose"] = (time.perf_counter() - t2) * 1000
        if (generator or self.settings.generator) == "llm":
            answer = self._llm_answer(q, history, answer, shown)
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        return answer

    def stream(self, question: str, history: History = None, generator: str | None = None) -> Iterator[Answer]:
        """Yield the answer as it grows (one cited sentence at a time), ending with the complete Answer."""
        validate_history(history, self.settings.max_history_turns, self.settings.max_history_chars)  # issue 29
        answer = self.ask(question, history, generator)
        if answer.refused or not answer.citations or answer.generator != "extractive":
            yield answer  # an LLM answer's sentences may carry several citations each: sent whole
            return
        for i in range(1, len(answer.citations)):
            part = answer.citations[:i]
            yield answer.model_copy(
                update={"text": render(part, question_type(answer.question).source), "citations": part}
            )
        yield answer

    def _vague(self, part: str) -> bool:
        """A part of a question too short to search on its own: it points back and names nothing ("how far along
        is it", "how they train")."""
        return bool(_REFERS_BACK.search(part)) and len(content_words(part)) < 3 and not self.composer.entities(part)

    def _topic_names(self, history: History) -> list[str]:
        """What a follow-up is about: the names of the previous question and those the last reply opened with."""
        previous = user_turns(history)[-1:]
        names = self.composer.entities(core_question(previous[0])) if previous else []
        return list(dict.fromkeys([*names, *answer_names(last_answer(history), skip=self.composer.ubiquitous)]))

    @runs_on_one_generation  # issue 29
    def passage(self, passage_id: str) -> Passage | None:
        """A passage by id."""
        return self.handle.passages.get(passage_id)

    @runs_on_one_generation  # issue 29
    def sources(self) -> list[SourceView]:
        """The bibliography, each entry with its citing passages (pages, sentence) and whether its full text is in."""
        from index.corpus import citing_sentences

        article = [p for p in self.handle.passages.values() if p.kind == "article"]
        full = {p.source_key for p in self.handle.passages.values() if p.kind == "fulltext"}
        views = []
        for entry in self.handle.entries.values():
            cites = [
                CitingPassage(passage_id=p.id, location=p.location, pages=pages, sentence=sentence)
                for p, sentence, pages in citing_sentences(article, entry.key)
            ]
            views.append(SourceView(entry=entry, citing=cites, fulltext_indexed=entry.key in full))
        return views

    def _llm_answer(self, question: str, history: History, extractive: Answer, passages: list[ScoredPassage]) -> Answer:
        from rag.llm import LLMGenerator

        llm = self._llm
        if llm is None or llm.composer is not self.composer:  # issue 29: one per index generation
            llm = self._llm = LLMGenerator(self.settings, self.composer)
        return llm.answer(question, history, extractive, passages)


def _topic(question: str) -> str:
    """The question as asked, quoted whole ("How old is ...": a question word cut off reads as nonsense)."""
    q = question.strip().rstrip(".")
    return f"“{q}”" if q else "that"
