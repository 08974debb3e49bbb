"""The real packaged model and a real embedded Chroma: build, no-op rebuild, incremental update, crash safety."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import chromadb
import pytest
from chromadb.config import Settings as ChromaSettings

from index.errors import IndexCorruptError, IndexNotFoundError
from index.settings import ARTICLE_FILE, load_settings
from index.store import build_index, collection_base, open_index, read_state


def _collection(settings):
    client = chromadb.PersistentClient(
        path=str(settings.data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    return client.get_collection(read_state(settings)["collection"])


def test_build_writes_every_passage_once(built_settings):
    state = read_state(built_settings)
    assert state["collection"].startswith(collection_base(built_settings))
    assert "all-minilm-l6-v2" in state["collection"]
    col = _collection(built_settings)
    assert col.count() == state["passages"] == len(set(state["ids"]))
    handle = open_index(built_settings)
    assert handle.sentence_vectors.shape == (state["sentences"], 384)
    assert handle.words()["tashkent"] >= 1 and "words.json" in state["files"]  # for the spelling of questions


def test_noop_rebuild_changes_nothing(index_copy):
    before = read_state(index_copy)
    report = build_index(index_copy, progress=False)  # its speed is measured by scripts/bench.py, not here
    assert not report.changed and report.embedded == 0
    assert read_state(index_copy) == before


def test_forced_rebuild_same_ids_no_duplicates(index_copy):
    before = read_state(index_copy)
    report = build_index(index_copy, force=True, progress=False)
    assert report.changed and report.embedded == 0 and report.reused >= before["sentences"]  # + headings
    after = read_state(index_copy)
    assert after["ids"] == before["ids"] and after["collection"] != before["collection"]
    assert _collection(index_copy).count() == before["passages"]


def test_incremental_update_reembeds_only_changed(index_copy, tmp_path):
    text = ARTICLE_FILE.read_text(encoding="utf-8")
    old_sentence = "It is undoubtedly a large scale regional project."
    edited = tmp_path / "article.txt"
    edited.write_text(text.replace(old_sentence, "It is undoubtedly a very large regional project."), encoding="utf-8")
    before = read_state(index_copy)
    settings = index_copy.model_copy(update={"corpus_path": edited})
    report = build_index(settings, progress=False)
    assert report.changed and report.embedded == 1 and report.removed >= 1  # the one sentence; its passage's new id
    col = _collection(settings)
    assert col.count() == report.passages
    removed = set(before["ids"]) - set(read_state(settings)["ids"])
    assert removed and not col.get(ids=sorted(removed))["ids"]
    handle = open_index(settings)
    bm25_ids = {
        row["node_id"]
        for row in json.loads((handle.bm25_dir / "corpus.jsonl").read_text().splitlines()[0:1][0])
        and [json.loads(x) for x in (handle.bm25_dir / "corpus.jsonl").read_text().splitlines()]
    }
    assert not (bm25_ids & removed) and len(bm25_ids) == report.passages


def test_a_noop_rebuild_reads_the_store_catalogue_without_importing_chromadb(built_settings):
    probe = (
        "import json, sys\n"
        "from index.settings import load_settings\n"
        "from index.store import build_index\n"
        "report = build_index(load_settings(), progress=False)\n"
        "print(json.dumps([report.changed, 'chromadb' in sys.modules]))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    env["CSTO_QA_DATA_DIR"] = str(built_settings.data_dir)
    out = subprocess.run([sys.executable, "-c", probe], env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == [False, False]


def test_a_missing_sentence_collection_is_found_and_rebuilt(index_copy):
    from index.generations import sentence_collection

    state = read_state(index_copy)
    client = chromadb.PersistentClient(
        path=str(index_copy.data_dir / "chroma"), settings=ChromaSettings(anonymized_telemetry=False)
    )
    client.delete_collection(sentence_collection(state["collection"]))
    with pytest.raises(IndexCorruptError, match="csto-qa index"):
        open_index(index_copy)
    report = build_index(index_copy, progress=False)  # no --force: the catalogue no longer lists it
    assert report.changed and report.embedded == 0
    assert open_index(index_copy).sentence_collection.count() == state["sentences"]


def test_changing_chunking_uses_another_collection(built_settings):
    other = built_settings.model_copy(update={"chunk_size": 128})
    assert collection_base(other) != collection_base(built_settings)
    with pytest.raises(IndexNotFoundError):
        open_index(other)


def test_missing_and_corrupt_index_errors(index_copy, tmp_path):
    with pytest.raises(IndexNotFoundError):
        open_index(load_settings(data_dir=tmp_path / "nothing-here"))
    state_file = index_copy.data_dir / "state.json"
    good = state_file.read_text()
    state_file.write_text("{not json")
    with pytest.raises(IndexCorruptError):
        open_index(index_copy)
    state_file.write_text(good)
    gen = index_copy.data_dir / json.loads(good)["gen_dir"]
    (gen / "passages.json").write_text("garbage")
    with pytest.raises(IndexCorruptError):
        open_index(index_copy)


def test_killed_build_leaves_previous_index_usable(index_copy):
    before = read_state(index_copy)
    env = {**os.environ, "CSTO_QA_DATA_DIR": str(index_copy.data_dir), "PYTHONPATH": str(Path.cwd())}
    proc = subprocess.Popen(
        [sys.executable, "-m", "ui.cli", "index", "--force"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stderr is not None
    for line in proc.stderr:  # kill it in the middle: after it has started writing the new collection
        if "writing the Chroma collection" in line or "writing BM25" in line:
            break
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert read_state(index_copy) == before
    from rag import Assistant

    answer = Assistant.from_settings(index_copy).ask("When was the CSTO established?")
    assert "1992" in answer.text and not answer.refused
    report = build_index(index_copy, progress=False)  # the next build cleans up and succeeds
    assert not report.changed
