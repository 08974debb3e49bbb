"""The public Python API: `Assistant.from_settings().ask(question, history)` returns a typed, cited Answer.

The answer path is a few named stages, each a small module:

    parse (rag/query.py) -> retrieve (rag/retrieve.py) -> read (rag/read.py) -> check (rag/refuse.py)
        -> compose (rag/policy.py, or rag/summary.py for a summary) -> cite (rag/cite.py) [-> rag/llm.py]
"""

from __future__ import annotations

import time
import unicodedata
from collections.abc import Iterator, Sequence
from typing import Any, NamedTuple

from index import offline
from index.errors import InvalidQuestionError
from index.settings import Settings, load_settings
from index.store import IndexHandle, open_index
from index.types import Passage
from rag.catalogue import Catalogue, Shelf, citation_counts, entry_sentences, shelf_text
from rag.cite import Sentence, citations, render
from rag.history import validate_history  # bounded history (issue 29)
from rag.live import LiveIndex, runs_on_one_generation  # a running Assistant follows re-indexing (issue 29)
from rag.policy import Policy, select
from rag.query import Query, parse
from rag.read import Reader, ReaderModel, Scored
from rag.refuse import REFUSAL, TIME_FRAME, UNRELATED, Horizon, judge, names_topic, topic, unrelated
from rag.spelling import Speller
from rag.summary import lead_with, summarise
from rag.types import Answer, CitingPassage, ScoredPassage, SourceView

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


def turns(history: History) -> list[dict[str, str]]:
    """History as [{role, content}] (the tuple form (user, assistant) is accepted too)."""
    out: list[dict[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            out.append({"role": str(item.get("role")), "content": str(item.get("content"))})
        else:
            out.append({"role": "user", "content": item[0]})
            if len(item) > 1 and item[1]:
                out.append({"role": "assistant", "content": item[1]})
    return out


class Generation(NamedTuple):
    """What the Assistant builds from one index generation."""

    handle: IndexHandle
    retriever: Any
    reader: Reader
    horizon: Horizon
    speller: Speller
    catalogue: Catalogue


class Assistant:
    """Answers questions about the article and its cited works, with a citation on every sentence."""

    def __init__(self, settings: Settings, handle: IndexHandle, embedder: Any, model: ReaderModel | None = None):
        self.settings = settings
        self._embedder = embedder
        self.model = model or ReaderModel.load()
        self.policy = Policy.load(self.model.extra.get("floors", {}))  # type: ignore[arg-type]
        self.answerability = self.model.answerability
        self.live = LiveIndex(settings, self._open_generation, handle=handle)
        self._llm: Any = None

    def _open_generation(self, handle: IndexHandle) -> Generation:
        from rag.retrieve import HybridRetriever

        retriever = HybridRetriever(handle, self._embedder, self.settings.top_k)
        speller = Speller(handle.words)
        reader = Reader(handle, self.model)
        passages = handle.passages.values()
        catalogue = Catalogue(handle.entries, reader.own_works, reader.subject, citation_counts(passages), passages)
        return Generation(handle, retriever, reader, Horizon.of(handle.passages), speller, catalogue)

    @property
    def handle(self) -> IndexHandle:
        """The index generation this call runs on."""
        return self.live.get().handle

    @property
    def retriever(self) -> Any:
        """The hybrid retriever of the generation in use."""
        return self.live.get().retriever

    @property
    def reader(self) -> Reader:
        """The reader of the generation in use."""
        return self.live.get().reader

    @classmethod
    def from_settings(
        cls, settings: Settings | None = None, model: ReaderModel | None = None, **overrides: Any
    ) -> Assistant:
        """Open the built index named by the settings (env CSTO_QA_* plus overrides); never touches the network.
        `model`: the reader's fitted parameters (rag/data/reader.* by default)."""
        settings = settings or load_settings(**overrides)
        offline.configure_llama_index()
        from index.embed import load_query_embedder

        handle = open_index(settings)
        embedder = load_query_embedder(settings)  # the index's ONNX export of the model: no torch to import
        return cls(settings, handle, embedder, model)

    def parse(self, question: str, history: History = None) -> Query:
        """Stage 1: the validated question read once."""
        validate_history(history, self.settings.max_history_turns, self.settings.max_history_chars)
        asked = validate_question(question, self.settings.max_question_chars)
        gen = self.live.get()
        embed, spell, topical = gen.retriever.embed_queries, gen.speller.correct, gen.reader.topical
        shelf = lambda text, before: gen.catalogue.asked(text, topical, before)  # noqa: E731
        return parse(asked, turns(history), embed, self.model.intents, gen.horizon.after, spell, topical, shelf)

    @runs_on_one_generation
    def retrieve(self, question: str, history: History = None, k: int | None = None) -> list[ScoredPassage]:
        """Ranked passages for a question (a follow-up is searched with the question it follows)."""
        query = self.parse(question, history)
        gen = self.live.get()
        return self._search(query, gen)[0][: k or None]

    def _search(self, query: Query, gen: Generation) -> tuple[list[ScoredPassage], list[Sentence]]:
        """Stage 2: the ranked passages, and a summary's sentences (a summary's passages lead its ranking)."""
        retrieved = gen.retriever.retrieve(query.search, vector=self.model.retrieval_vector(query.search_vector))
        if not query.summary:
            return retrieved, []
        chosen = summarise(gen.reader, query.part, self.policy.budget_for("summary", query.count))
        return lead_with(chosen, retrieved), chosen

    @runs_on_one_generation
    def ask(
        self, question: str, history: History = None, generator: str | None = None, top_k: int | None = None
    ) -> Answer:
        """Answer with verbatim, cited sentences, or refuse and show the closest passages."""
        t0 = time.perf_counter()
        query = self.parse(question, history)
        t1 = time.perf_counter()
        gen = self.live.get()
        retrieved, summary = self._search(query, gen)
        shown = retrieved[: top_k or self.settings.top_k]
        t2 = time.perf_counter()
        timings = {"parse": (t1 - t0) * 1000, "retrieve": (t2 - t1) * 1000}
        if query.shelf is not None:
            return self._shelf_answer(query, query.shelf, gen, (retrieved, shown), timings, t0)
        if query.intent == "out_of_scope":
            template = TIME_FRAME.replace("{year}", str(gen.horizon.year))
            return self._refusal(query, shown, retrieved, timings, t0, template, "time frame", 0.0)
        if query.summary:
            chosen, strength = summary, 1.0
        else:
            scored = gen.reader.score(query, gen.reader.candidates(retrieved, self.policy.depth))
            strength, threshold = judge(self.model, query, scored, gen.reader)
            off = unrelated(self.model, scored) and bool(gen.horizon.subject)
            weak = strength < threshold and not names_topic(query, scored, gen.reader)
            if weak or off:  # on another subject: say what the sources are about
                template = UNRELATED.replace("{subject}", gen.horizon.subject) if off else REFUSAL
                failed = "unrelated" if off else ""
                return self._refusal(query, shown, retrieved, timings, t0, template, failed, strength)
            chosen = self._compose(query, scored, gen)
        t3 = time.perf_counter()
        timings["read_compose"] = (t3 - t2) * 1000
        cites = citations(chosen, gen.handle.entries)
        answer = Answer(
            question=query.asked,
            text=render(cites, lead_sources=query.intent == "attribution"),
            citations=cites,
            retrieved=retrieved,
            evidence_strength=strength,
        )
        if (generator or self.settings.generator) == "llm":
            answer = self._llm_answer(query.text, history, answer, shown)
        timings["total"] = (time.perf_counter() - t0) * 1000
        answer.timings_ms = timings
        return answer

    def _compose(self, query: Query, scored: list[Scored], gen: Generation) -> list[Sentence]:
        """Stage 4: the sentences the answer quotes."""
        vectors = gen.handle.sentence_vectors
        named = gen.reader.works_named(query.text)
        entries = gen.handle.entries
        return select(self.policy, query.intent, scored, vectors, entries, query.count, named, query.asks_view)

    def _shelf_answer(
        self,
        query: Query,
        shelf: Shelf,
        gen: Generation,
        ranked: tuple[list[ScoredPassage], list[ScoredPassage]],
        timings: dict[str, float],
        t0: float,
    ) -> Answer:
        """A question about the bibliography as a whole: the matching works' entries under a line counting them
        (rag/catalogue.py); `ranked`: the retrieved passages and those shown on a refusal. The LLM path does not
        rewrite a list of entries."""
        retrieved, shown = ranked
        found = gen.catalogue.matching(shelf)
        header = gen.catalogue.header(shelf, found)
        if not found:
            return self._refusal(query, shown, retrieved, timings, t0, header, "bibliography", 0.0)
        cites = citations(entry_sentences(found, gen.catalogue.cards, gen.reader.rows), gen.handle.entries)
        timings["total"] = (time.perf_counter() - t0) * 1000
        return Answer(
            question=query.asked,
            text=shelf_text(header, cites, self.policy.shelf_whole),
            citations=cites,
            retrieved=retrieved,
            evidence_strength=1.0,
            timings_ms=timings,
        )

    @staticmethod
    def _refusal(
        query: Query,
        shown: list[ScoredPassage],
        retrieved: list[ScoredPassage],
        timings: dict[str, float],
        t0: float,
        template: str,
        failed: str,
        strength: float,
    ) -> Answer:
        """A refusal that shows the closest passages."""
        timings["total"] = (time.perf_counter() - t0) * 1000
        return Answer(
            question=query.asked,
            text=template.format(topic=topic(query.asked)),
            refused=True,
            closest=shown,
            retrieved=retrieved,
            timings_ms=timings,
            evidence_strength=strength,
            checks_failed=failed,
        )

    def stream(self, question: str, history: History = None, generator: str | None = None) -> Iterator[Answer]:
        """Yield the answer as it grows (one cited sentence at a time), ending with the complete Answer."""
        answer = self.ask(question, history, generator)
        if answer.refused or not answer.citations or answer.generator != "extractive":
            yield answer  # an LLM answer's sentences may carry several citations each: sent whole
            return
        lead = not answer.text.startswith(answer.citations[0].quote)  # a "who says" answer is led by its works
        if render(answer.citations, lead_sources=lead) != answer.text:
            yield answer  # not one quote after another (a bibliography listing under its count line): sent whole
            return
        for i in range(1, len(answer.citations)):
            part = answer.citations[:i]
            yield answer.model_copy(update={"text": render(part, lead_sources=lead), "citations": part})
        yield answer

    @runs_on_one_generation
    def passage(self, passage_id: str) -> Passage | None:
        """A passage by id."""
        return self.handle.passages.get(passage_id)

    @runs_on_one_generation
    def sources(self) -> list[SourceView]:
        """The bibliography, each entry with its citing passages (pages, sentence) and whether its full text is in."""
        from index.corpus import citing_sentences

        handle = self.handle
        article = [p for p in handle.passages.values() if p.kind == "article"]
        full = {p.source_key for p in handle.passages.values() if p.kind == "fulltext"}
        views = []
        for entry in handle.entries.values():
            cites = [
                CitingPassage(passage_id=p.id, location=p.location, pages=pages, sentence=sentence)
                for p, sentence, pages in citing_sentences(article, entry.key)
            ]
            views.append(SourceView(entry=entry, citing=cites, fulltext_indexed=entry.key in full))
        return views

    def _llm_answer(self, question: str, history: History, extractive: Answer, passages: list[ScoredPassage]) -> Answer:
        from rag.llm import LLMGenerator

        llm = self._llm
        if llm is None or llm.reader is not self.reader:  # one per index generation
            llm = self._llm = LLMGenerator(self.settings, self.reader)
        return llm.answer(question, history, extractive, passages)
