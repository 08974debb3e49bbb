"""The cold path (issue 26): `csto-qa ask` embeds questions with the index's ONNX export of the packaged MiniLM, no
torch, no sentence-transformers, no gradio, no matplotlib; its vectors and answers equal the torch path's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np

from index.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "sentence_transformers", "transformers", "gradio", "matplotlib")

# runs the CLI's `ask` in a fresh interpreter, then lists which heavy modules it imported
_PROBE = """
import json, runpy, sys
sys.argv = ["csto-qa", "ask", "When was the CSTO established?"]
try:
    runpy.run_module("ui.cli", run_name="__main__")
except SystemExit as exc:
    code = exc.code
else:
    code = 0
print(json.dumps({"code": code, "loaded": [m for m in %r if m in sys.modules]}))
"""


def test_the_index_keeps_an_onnx_export_beside_it(built_settings: Settings):
    from index.onnx_embed import export_dir, has_export

    assert has_export(built_settings)
    assert export_dir(built_settings).is_relative_to(built_settings.data_dir)


def test_cli_ask_imports_no_torch_no_web_framework_no_plots(built_settings: Settings):
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    env["CSTO_QA_DATA_DIR"] = str(built_settings.data_dir)
    out = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    report = json.loads(out.stdout.strip().splitlines()[-1])
    assert report["code"] == 0, out.stderr[-2000:]
    assert "Tashkent Treaty" in out.stdout
    assert report["loaded"] == []


def test_onnx_query_vectors_equal_the_torch_ones(built_settings: Settings):
    from index.embed import load_embedder
    from index.onnx_embed import export_dir, load_onnx_encoder

    texts = [
        "When was the CSTO established?",
        "the alliance",
        "What does Lacroix say about Russia's role as the CSTO's financier and its military training centre?",
        "  Wæver and Buzan: regional security complexes (RSCT), 2003  ",
        "x",
        " ".join(["a very long question about the collective security treaty organization"] * 40),  # truncated
    ]
    torch_model = load_embedder(built_settings.resolved_model_path(), 1)
    expected = np.asarray(torch_model._embed(texts, prompt_name="query"), dtype=np.float32)
    got = load_onnx_encoder(export_dir(built_settings), 1).encode(texts)
    cosine = np.sum(expected * got, axis=1) / (np.linalg.norm(expected, axis=1) * np.linalg.norm(got, axis=1))
    assert got.shape == expected.shape
    assert np.all(cosine >= 1 - 1e-4), cosine
    assert np.allclose(np.linalg.norm(got, axis=1), 1.0, atol=1e-5)


def test_the_answers_are_those_of_the_torch_path_for_the_whole_dev_set(built_settings: Settings):
    from eval.dataset import load_dataset
    from index.embed import load_embedder
    from index.errors import InvalidQuestionError
    from index.onnx_query import OnnxEmbedding
    from index.store import open_index
    from rag import Assistant

    cold = Assistant.from_settings(built_settings)
    assert isinstance(cold._embedder, OnnxEmbedding)
    torch_model = load_embedder(built_settings.resolved_model_path(), built_settings.torch_threads)
    warm = Assistant(built_settings, open_index(built_settings), torch_model)
    items = load_dataset(ROOT / "eval" / "sets" / "dataset.jsonl")
    assert len(items) > 100
    differ = []
    for item in items:
        history = [t.model_dump() for t in item.history] or None
        try:
            a, b = cold.ask(item.question, history), warm.ask(item.question, history)
        except InvalidQuestionError:
            continue
        if (a.text, a.refused) != (b.text, b.refused):
            differ.append(item.id)
    assert differ == []


def _made_up_corpus():
    from types import SimpleNamespace

    from index.types import Passage

    def passage(pid: str, text: str, paragraph: int) -> Passage:
        return Passage(
            id=pid, kind="article", section="Body", text=text, start=0, end=len(text), paragraph=paragraph
        )

    return SimpleNamespace(
        passages=[
            passage("a", "The alliance was founded in 1992. It trains officers.", 1),
            passage("b", "The alliance was founded in 1992. Members meet yearly.", 2),
        ]
    )


class _Counting:
    """A deterministic embedder (a few word lengths, normalised as the model's are) that records what it embeds."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def __call__(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return [list(_unit([float(len(w)) for w in (t.split() + ["", "", ""])[:3]])) for t in texts]


def _unit(v) -> np.ndarray:
    v = np.asarray(v, dtype=np.float64)
    return v / np.linalg.norm(v)


def test_a_build_embeds_each_distinct_text_once_and_reuses_what_it_has():
    from index.vectors import build_vectors

    corpus, fake = _made_up_corpus(), _Counting()
    first = build_vectors(corpus, ["section: Body", "section: Body"], {}, fake)
    # the shared sentence and the shared heading are embedded once; passages are never embedded whole
    assert sorted(fake.seen) == sorted(
        {"section: Body", "The alliance was founded in 1992.", "It trains officers.", "Members meet yearly."}
    )
    assert first.embedded == 4 and first.reused == 0 and first.matrix.shape == (4, 3)
    # a passage's vector is the normalised mean of its heading's and its sentences' vectors
    want = _unit(np.mean([_unit([8, 4, 0]), _unit([3, 8, 3]), _unit([2, 6, 9])], axis=0))
    assert np.allclose(first.passages["a"], want, atol=1e-6)
    # "It trains ..." leans on the sentence before it: read alone and with that one
    alone, before = _unit([2, 6, 9]), _unit([3, 8, 3])
    want = _unit(alone + _unit(alone + before))
    assert np.allclose(first.matrix[1], want, atol=1e-6)
    again = _Counting()
    second = build_vectors(corpus, ["section: Body", "section: Body"], first.cache, again)
    assert again.seen == [] and second.embedded == 0 and second.reused == 4
    assert np.array_equal(second.matrix, first.matrix)
