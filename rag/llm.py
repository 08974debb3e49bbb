"""The optional LLM generator: a local or remote chat model writes the answer, the verifier keeps what is supported.

Flow of `LLMGenerator.answer`:

1. The retrieved passages are numbered 1..k and sent, each cut to `passage_chars` at a sentence end (so the prompt
   fits a small context window), with the question and up to two previous turns of the conversation.
2. Every generated sentence is checked by `rag.verify.verify_sentence` against the text the model was shown.
   Unsupported sentences are dropped and `Answer.notice` says how many and why.
3. Each kept sentence becomes one or more `Citation`s, renumbered 1..n in answer order:

   - when one of the passages it cites supports it on its own, one Citation to the best such passage; otherwise
     (it needs two passages together) one Citation per cited passage, so the answer text reads ``... [2][3]``;
   - ``quote`` is the generated sentence (markers removed), ``text`` the whole passage;
   - ``quote_start``/``quote_end`` span the passage sentence that matches the generated sentence best (most shared
     content words), or are -1/-1 when no sentence of the passage shares a content word with it;
   - ``sources`` are the works cited by the passage's sentences that support it (the best sentence and any other
     sharing at least 2 and at least half as many content words), resolved by `rag.cite.sources_of`.

   Every sentence of the returned text therefore passes `verify_answer(answer.text, {c.n: c.text})` again.
4. If nothing survives, or the endpoint fails or times out, the extractive answer comes back with a notice.

The LLM is reached only through llama-index's LLM interface (`OpenAILike` for any OpenAI-compatible server such
as `llama_cpp.server`, vLLM or LM Studio; `Ollama` for Ollama's own API), and only when `llm_base_url` is set.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from index.settings import Settings, SettingsError
from rag.cite import Sentence, sources_of
from rag.prompts import (
    FEW_SHOT_ASSISTANT,
    FEW_SHOT_USER,
    NO_ANSWER,
    PASSAGE_TEMPLATE,
    SYSTEM_PROMPT,
    USER_PROMPT,
)
from rag.read import Reader
from rag.text import content_words
from rag.types import Answer, Citation, ScoredPassage, SourceRef
from rag.verify import VerifiedSentence, strip_markers, verify_answer, verify_sentence

PASSAGE_CHARS = 1000
"""Most characters of one passage put in the prompt (5 x 1000 characters is about 1,300 tokens: with the system
prompt, the example, two earlier turns and the reply this fits a 2,048-token context)."""
HISTORY_TURNS = 2
HISTORY_CHARS = 400
"""Most characters of one earlier message put in the prompt."""


def build_llm(settings: Settings) -> Any:
    """The llama-index LLM for the settings (no network until it is called)."""
    if not settings.llm_base_url:
        raise SettingsError("generator=llm needs llm_base_url (CSTO_QA_LLM_BASE_URL), e.g. http://127.0.0.1:8080/v1")
    if settings.llm_provider == "ollama":
        from llama_index.llms.ollama import Ollama

        return Ollama(
            model=settings.llm_model,
            base_url=settings.llm_base_url,
            request_timeout=settings.llm_timeout_s,
            temperature=0,
            additional_kwargs={"num_predict": settings.llm_max_tokens},
        )
    from llama_index.llms.openai_like import OpenAILike

    return OpenAILike(
        model=settings.llm_model,
        api_base=settings.llm_base_url,
        api_key=settings.llm_api_key.get_secret_value(),
        is_chat_model=True,
        timeout=settings.llm_timeout_s,
        max_tokens=settings.llm_max_tokens,
        max_retries=0,
        temperature=0,
    )


def excerpt(text: str, limit: int = PASSAGE_CHARS) -> str:
    """The passage's start, at most `limit` characters, cut after a sentence end when there is one."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    ends = [m.end() for m in re.finditer(r"[.!?][\"”’')]*(?=\s)", head)]
    if ends and ends[-1] >= limit // 3:
        return head[: ends[-1]]
    return head.rsplit(" ", 1)[0] + " …"


def history_messages(history: Any, turns: int = HISTORY_TURNS) -> list[tuple[str, str]]:
    """The last `turns` exchanges as (role, content); [n] markers of earlier answers are removed."""
    messages: list[tuple[str, str]] = []
    for item in history or []:
        if isinstance(item, dict):
            role, content = item.get("role"), item.get("content")
            if role in ("user", "assistant") and isinstance(content, str) and content.strip():
                messages.append((role, content))
        elif isinstance(item, list | tuple) and len(item) >= 1:
            for role, content in zip(("user", "assistant"), item, strict=False):
                if isinstance(content, str) and content.strip():
                    messages.append((role, content))
    starts = [i for i, (role, _) in enumerate(messages) if role == "user"]
    kept = messages[starts[-turns] :] if turns and len(starts) >= turns else (messages if turns else [])
    out = []
    for role, content in kept:
        text = " ".join(re.sub(r"\[\s*\d+(?:\s*[,;–-]\s*\d+)*\s*\]", "", content).split())
        out.append((role, text[:HISTORY_CHARS]))
    return out


def _describe(exc: BaseException) -> str:
    first = (str(exc).strip().splitlines() or [""])[0]
    text = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


class LLMGenerator:
    """Writes an answer with an LLM from the retrieved passages and keeps only the sentences they support."""

    def __init__(self, settings: Settings, reader: Reader, llm: Any = None, passage_chars: int = PASSAGE_CHARS) -> None:
        if not settings.llm_base_url:
            raise SettingsError(
                "generator=llm needs llm_base_url (CSTO_QA_LLM_BASE_URL), e.g. http://127.0.0.1:8080/v1"
            )
        self.settings = settings
        self.reader = reader
        self.llm = llm if llm is not None else build_llm(settings)
        self.passage_chars = passage_chars
        self.last_text = ""
        """The raw text of the last generation (for debugging and tests)."""
        self.last_verified: list[VerifiedSentence] = []
        """The verdict on every sentence of the last generation."""

    def messages(self, question: str, history: Any, shown: dict[int, str]) -> list[Any]:
        """The chat messages: system prompt, a worked example, earlier turns, the numbered passages and question."""
        from llama_index.core.llms import ChatMessage

        passages = "\n\n".join(PASSAGE_TEMPLATE.format(n=n, text=text) for n, text in shown.items())
        out = [
            ChatMessage(role="system", content=SYSTEM_PROMPT),
            ChatMessage(role="user", content=FEW_SHOT_USER),
            ChatMessage(role="assistant", content=FEW_SHOT_ASSISTANT),
        ]
        out += [ChatMessage(role=role, content=content) for role, content in history_messages(history)]
        out.append(ChatMessage(role="user", content=USER_PROMPT.format(passages=passages, question=question)))
        return out

    def answer(self, question: str, history: Any, extractive: Answer, passages: Sequence[ScoredPassage]) -> Answer:
        """The LLM's supported sentences with citations, or the extractive answer with a notice."""
        numbered = {n: sp for n, sp in enumerate(passages, start=1)}
        shown = {n: excerpt(sp.passage.text, self.passage_chars) for n, sp in numbered.items()}
        self.last_text, self.last_verified = "", []
        messages = self.messages(question, history, shown)
        try:
            response = self.llm.chat(messages)
            text = (response.message.content or "").strip()
        except Exception as exc:  # any endpoint failure (refused, timeout, HTTP error, bad reply) falls back
            return extractive.model_copy(
                update={"notice": f"The LLM endpoint failed ({_describe(exc)}); showing the extractive answer."}
            )
        self.last_text = text
        verified = verify_answer(text, shown)
        self.last_verified = verified
        kept = [v for v in verified if v.supported]
        dropped = [v for v in verified if not v.supported]
        if not kept:
            if not text:
                why = "the model returned no text"
            elif NO_ANSWER.lower().rstrip(".") in text.lower():
                why = "the model found no answer in the passages"
            else:
                why = (
                    "its sentence is not supported by the passages"
                    if len(verified) == 1
                    else f"none of its {len(verified)} sentences is supported by the passages"
                )
            return extractive.model_copy(
                update={"notice": f"The LLM answer was not used ({why}); showing the extractive answer."}
            )
        citations: list[Citation] = []
        parts: list[str] = []
        for v in kept:
            markers = ""
            for pn in self._citing_passages(v, shown):
                citations.append(self._citation(len(citations) + 1, v.claim, numbered[pn], shown[pn]))
                markers += f"[{citations[-1].n}]"
            parts.append(f"{v.claim} {markers}")
        notice = ""
        if dropped:
            reasons = "; ".join(dict.fromkeys(v.reasons[0] for v in dropped))
            notice = (
                f"{_plural(len(dropped), 'generated sentence')} {'was' if len(dropped) == 1 else 'were'} "
                f"dropped because the passages don't support {'it' if len(dropped) == 1 else 'them'} "
                f"({reasons})."
            )
        return extractive.model_copy(
            update={"text": " ".join(parts), "citations": citations, "generator": "llm", "notice": notice}
        )

    @staticmethod
    def _citing_passages(v: VerifiedSentence, shown: dict[int, str]) -> list[int]:
        """The one cited passage that supports the sentence alone (best coverage), else all it cites."""
        alone = [verify_sentence(f"{v.claim} [{n}]", {n: shown[n]}) for n in v.cited]
        solo = [(r.coverage, -r.cited[0]) for r in alone if r.supported]
        return [-max(solo)[1]] if solo else list(v.cited)

    def _citation(self, n: int, claim: str, sp: ScoredPassage, shown_text: str) -> Citation:
        p = sp.passage
        start, end, sources = self._support(claim, sp, len(shown_text))
        return Citation.of(n, p, strip_markers(claim), (start, end), sources)

    def _support(self, claim: str, sp: ScoredPassage, shown_chars: int) -> tuple[int, int, list[SourceRef]]:
        """Span of the best-matching passage sentence and the works cited by the supporting sentences."""
        words = set(content_words(claim))
        rows = [row for row, _ in self.reader.candidates([sp], depth=1)]
        cands: list[Sentence] = [c for c in (self.reader.sentences[r] for r in rows) if c.start < shown_chars]
        scored = sorted(
            ((len(words & set(content_words(c.text))), -c.start, c) for c in cands),
            key=lambda t: (t[0], t[1]),
            reverse=True,
        )
        if not scored or scored[0][0] == 0:
            return -1, -1, []
        best_overlap, _, best = scored[0]
        supporting = [c for overlap, _, c in scored if c is best or overlap >= max(2, best_overlap / 2)]
        supporting.sort(key=lambda c: c.start)
        sources: list[SourceRef] = []
        for c in supporting:
            for ref in sources_of(c.passage, c.start, c.end, self.reader.handle.entries):
                if not any(r.key == ref.key and r.pages == ref.pages for r in sources):
                    sources.append(ref)
        return best.start, best.end, sources
