"""Building a generation: parse, embed (reusing unchanged vectors), write the Chroma collection, BM25 and the
generation's files, then switch the state file atomically."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.acronyms import acronyms, gloss
from index.chroma import _DAMAGE_WORDS, _forget_chroma_system, make_client
from index.errors import BuildError, IndexCorruptError, IndexNotFoundError
from index.generations import (
    _GEN_DIR,
    BUILD_LEASE_S,
    _atomic_write,
    _drop_unreferenced,
    _newest_generation,
    _probe_collection,
    _sha,
    acquire_lease,
    collection_base,
    generation_damage,
    input_fingerprint,
    read_state,
    settings_key,
    state_path,
)
from index.nodes import _LEANS_ON_PREVIOUS, passage_sentences, to_node
from index.settings import Settings


@dataclass
class BuildReport:
    """What a build did."""

    changed: bool
    collection: str
    passages: int
    embedded: int
    reused: int
    removed: int
    seconds: float
    warnings: list[str] = field(default_factory=list)


def build_index(
    settings: Settings, force: bool = False, progress: bool = True, on_step: Callable[[str], None] | None = None
) -> BuildReport:
    """Build or update the index; a no-op when nothing it reads has changed and the live generation is whole (a
    damaged one is rebuilt). BuildError when the data directory is not writable or another build runs on it."""
    t0 = time.perf_counter()
    step = on_step or (lambda _msg: None)
    _ensure_writable(settings.data_dir)
    with _build_lock(settings.data_dir):
        return _build(settings, force, progress, step, t0)


def _ensure_writable(data_dir: Path) -> None:
    """BuildError with one line when the data directory cannot be created or written."""
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        fd, probe = tempfile.mkstemp(dir=data_dir, prefix=".write-test-")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise BuildError(
            f"cannot write to the data directory {data_dir} ({exc.strerror or type(exc).__name__}); choose a writable "
            "one with --data-dir or CSTO_QA_DATA_DIR"
        ) from None


@contextlib.contextmanager
def _build_lock(data_dir: Path) -> Iterator[None]:
    """Hold the data directory's build lock (one build at a time), or BuildError at once."""
    with open(data_dir / ".build.lock", "a+b") as fh:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BuildError(f"another `csto-qa index` is building in {data_dir}; wait for it to finish") from None
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)



def _open_store_for_build(settings: Settings, warnings: list[str], step: Callable[[str], None]) -> Any:
    """The Chroma client a build writes to; an embedded store that cannot be read is moved aside first."""
    client: Any = None
    try:
        client = make_client(settings, create=True)
        client.list_collections()  # reads the catalogue: a damaged store fails here
        return client
    except IndexCorruptError as exc:
        if settings.chroma_host or not _DAMAGE_WORDS.search(str(exc)):
            raise  # a server's store is not ours to move; "database is locked" and the like are no damage
        damaged = settings.data_dir / "chroma"
        aside = settings.data_dir / f"chroma.damaged-{time.strftime('%Y%m%dT%H%M%S')}-{secrets.token_hex(2)}"
        if client is not None:
            with contextlib.suppress(Exception):
                client.close()
        _forget_chroma_system(damaged)
        os.replace(damaged, aside)
        warnings.append(f"the Chroma store could not be read ({exc}); moved it aside to {aside.name}")
        step(f"moved the damaged Chroma store aside to {aside.name}")
        return make_client(settings, create=True)


def _build(settings: Settings, force: bool, progress: bool, step: Callable[[str], None], t0: float) -> BuildReport:
    fingerprint = input_fingerprint(settings)
    old: dict[str, Any] | None
    notes: list[str] = []
    try:
        old = read_state(settings)
    except IndexNotFoundError:
        old = None
    except IndexCorruptError as exc:
        old = None
        notes.append(f"rebuilt the index: {str(exc).split('; run ')[0]}")
    if old and not force and old["fingerprint"] == fingerprint:
        damage = generation_damage(settings, old)
        if not damage:
            _export_if_missing(settings, step)
            return BuildReport(
                False,
                old["collection"],
                old.get("passages", 0),
                0,
                0,
                0,
                time.perf_counter() - t0,
                old.get("warnings", []),
            )
        notes.append(f"rebuilt the index: {damage.split('; run ')[0]}")
        step(f"rebuilding: {damage}")

    from index.corpus import load_corpus

    step("parsing the article, bibliography and full texts")
    corpus = load_corpus(
        settings.corpus_path, settings.chunk_size, settings.chunk_overlap, settings.resolved_sources_dir
    )
    client = _open_store_for_build(settings, notes, step)
    existing = [int(d.name[4:]) for d in settings.data_dir.glob("gen-*") if _GEN_DIR.fullmatch(d.name)]
    gen = max([(old or {}).get("gen", 0), *existing]) + 1  # never a number a reader may still hold
    base = collection_base(settings)
    name = f"{base}-g{gen}"
    gen_dir = settings.data_dir / f"gen-{gen}"
    building = acquire_lease(settings, name, gen_dir.name, BUILD_LEASE_S)  # a reader's clean-up leaves it alone
    try:
        target = _Target(gen, name, gen_dir, fingerprint)
        return _write_generation(settings, client, corpus, old, target, progress, step, t0, notes)
    finally:
        building.release()


@dataclass
class _Target:
    """The generation a build writes."""

    gen: int
    name: str
    gen_dir: Path
    fingerprint: str


def _write_generation(
    settings: Settings,
    client: Any,
    corpus: Any,
    old: dict[str, Any] | None,
    target: _Target,
    progress: bool,
    step: Callable[[str], None],
    t0: float,
    notes: list[str],
) -> BuildReport:
    base = collection_base(settings)
    old_vectors, old_sentences = _previous_vectors(client, settings, old, base)  # before anything is dropped
    _drop_unreferenced(
        client, settings, base, keep={(old or {}).get("collection", "")}, keep_dirs={(old or {}).get("gen_dir", "")}
    )
    if target.gen_dir.exists():
        shutil.rmtree(target.gen_dir)
    target.gen_dir.mkdir(parents=True)

    from index.embed import load_embedder
    from index.offline import configure_torch_threads

    embedder = load_embedder(settings.resolved_model_path(), settings.torch_threads)
    configure_torch_threads(max(settings.torch_threads, settings.build_threads))  # throughput while building
    try:
        nodes, todo, sentences = _embed_all(corpus, embedder, old_vectors, old_sentences, progress, step)
        _ensure_query_export(settings, embedder, step)
    finally:
        configure_torch_threads(settings.torch_threads)
    step("writing the Chroma collection")
    _write_collection(settings, client, target.name, nodes)
    step("writing BM25 and passage files")
    files = _write_files(settings, corpus, nodes, sentences, target.gen_dir)
    state = {
        "version": 1,
        "gen": target.gen,
        "collection": target.name,
        "gen_dir": target.gen_dir.name,
        "fingerprint": target.fingerprint,
        "settings_key": settings_key(settings),
        "passages": len(nodes),
        "sentences": len(sentences.keys),
        "warnings": corpus.warnings,
        "files": files,
        "built_at": time.time(),
        "store": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
    }
    removed = len(set((old or {}).get("ids", [])) - {n.node_id for n in nodes})
    state["ids"] = [n.node_id for n in nodes]
    _atomic_write(state_path(settings), json.dumps(state, indent=1))  # the switch: everything before is invisible
    _drop_unreferenced(client, settings, base, keep={target.name}, keep_dirs={target.gen_dir.name})  # unheld ones
    seconds = time.perf_counter() - t0
    reused = len(nodes) - len(todo)
    return BuildReport(True, target.name, len(nodes), len(todo), reused, removed, seconds, [*notes, *corpus.warnings])


@dataclass
class _Sentences:
    """Every sentence of the corpus: (passage id, start, end), its content key and its vector."""

    rows: list[tuple[str, int, int]]
    keys: list[str]
    matrix: np.ndarray


def _sentence_readings(corpus: Any) -> tuple[list[tuple[str, int, int]], list[tuple[str, ...]]]:
    """The sentence spans of every passage and the texts whose mean vector stands for each sentence."""
    table = acronyms([p.text for p in corpus.passages if p.kind == "article"])
    rows: list[tuple[str, int, int]] = []
    readings: list[tuple[str, ...]] = []
    for p in corpus.passages:
        previous = ""
        for s, e in passage_sentences(p):
            rows.append((p.id, s, e))
            text = gloss(p.text[s:e], table)  # "The SCO is ..." embedded with its long form
            # "They provide experience ...": read alone and with the sentence that says what "they" are
            readings.append((text, f"{previous} {text}") if previous and _LEANS_ON_PREVIOUS.match(text) else (text,))
            previous = p.text[s:e]
    return rows, readings


def _embed_all(
    corpus: Any,
    embedder: Any,
    old_vectors: dict[str, list[float]],
    old_sentences: dict[str, list[float]],
    progress: bool,
    step: Callable[[str], None],
) -> tuple[list[Any], list[Any], _Sentences]:
    """Passage nodes with their vectors, the nodes embedded now, and the sentence vectors. Vectors of unchanged
    passages and sentences are reused; the texts left are embedded in one pass, each distinct text once."""
    from llama_index.core.schema import MetadataMode

    nodes = [to_node(p) for p in corpus.passages]
    todo = [n for n in nodes if n.node_id not in old_vectors]
    rows, readings = _sentence_readings(corpus)
    keys = [_sha("\n".join(r))[:20] for r in readings]
    missing = list({k: i for i, k in enumerate(keys) if k not in old_sentences}.values())  # one per distinct key
    step(f"embedding {len(todo)} passages ({len(nodes) - len(todo)} reused)")
    step(f"embedding {len(missing)} sentences ({len(keys) - len(missing)} reused)")
    passage_texts = [n.get_content(metadata_mode=MetadataMode.EMBED) for n in todo]
    vectors = _embed_distinct([*passage_texts, *(t for i in missing for t in readings[i])], embedder, progress)
    for n, text in zip(todo, passage_texts, strict=True):
        old_vectors[n.node_id] = vectors[text]
    for n in nodes:
        n.embedding = old_vectors[n.node_id]
    for i in missing:
        mean = np.mean([np.asarray(vectors[t], dtype=np.float32) for t in readings[i]], axis=0)
        old_sentences[keys[i]] = (mean / (np.linalg.norm(mean) or 1.0)).tolist()
    matrix = np.asarray([old_sentences[k] for k in keys], dtype=np.float32).reshape(len(keys), -1)
    return nodes, todo, _Sentences(rows, keys, matrix)


def _embed_distinct(texts: list[str], embedder: Any, progress: bool) -> dict[str, list[float]]:
    """The vector of each distinct text (a sentence that is also a passage, or read twice, is embedded once)."""
    from index.embed import encode_texts

    distinct = list(dict.fromkeys(texts))
    if not distinct:
        return {}
    return dict(zip(distinct, encode_texts(embedder, distinct, progress), strict=True))


def _export_if_missing(settings: Settings, step: Callable[[str], None]) -> None:
    """An index built before exports existed gets its export without a rebuild."""
    from index.onnx_embed import has_export

    if not has_export(settings):
        from index.embed import load_embedder

        _ensure_query_export(settings, load_embedder(settings.resolved_model_path(), settings.torch_threads), step)


def _ensure_query_export(settings: Settings, embedder: Any, step: Callable[[str], None]) -> None:
    """The ONNX export of the model that embeds questions without torch (made once per data directory)."""
    from index.onnx_embed import ensure_export

    model = getattr(embedder, "_model", None)
    if model is not None and ensure_export(settings, model):
        step("exported the model to ONNX for questions")


def _write_collection(settings: Settings, client: Any, name: str, nodes: list[Any]) -> None:
    """A fresh Chroma collection holding the passage nodes with their vectors."""
    from llama_index.vector_stores.chroma import ChromaVectorStore

    if name in {c.name if hasattr(c, "name") else c for c in client.list_collections()}:
        client.delete_collection(name)
    collection = client.create_collection(
        name,
        metadata={
            "hnsw:space": "cosine",
            "settings_key": settings_key(settings),
            "model": settings.resolved_model_path().name,
        },
    )
    store = ChromaVectorStore(chroma_collection=collection)
    for i in range(0, len(nodes), 1024):
        store.add(nodes[i : i + 1024])


def _write_files(settings: Settings, corpus: Any, nodes: list[Any], sentences: _Sentences, gen_dir: Path) -> dict:
    """BM25 state, passages, entries and sentence vectors of the generation; their checksums by relative path."""
    from llama_index.retrievers.bm25 import BM25Retriever

    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(settings.bm25_k, len(nodes)))
    bm25.persist(str(gen_dir / "bm25"))
    (gen_dir / "passages.json").write_text(json.dumps([p.model_dump() for p in corpus.passages]), encoding="utf-8")
    (gen_dir / "entries.json").write_text(json.dumps([e.model_dump() for e in corpus.entries]), encoding="utf-8")
    np.savez(
        gen_dir / "sentences.npz",
        rows=np.asarray([(0, s, e) for _, s, e in sentences.rows], dtype=np.int32),
        pids=np.asarray([pid for pid, _, _ in sentences.rows]),
        keys=np.asarray(sentences.keys),
        vectors=sentences.matrix,
    )
    return {str(f.relative_to(gen_dir)): _sha(f.read_bytes()) for f in sorted(gen_dir.rglob("*")) if f.is_file()}


def _previous_vectors(
    client: Any, settings: Settings, old: dict[str, Any] | None, base: str
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Passage vectors (by id) and sentence vectors (by text hash) of the live build when it is compatible (after a
    damaged state: of the newest generation left), each only when it reads back whole."""
    source = old if old and old.get("settings_key") == settings_key(settings) else None
    if old is None:
        source = _newest_generation(settings, base)
    if source is None:
        return {}, {}
    passages: dict[str, list[float]] = {}
    sentences: dict[str, list[float]] = {}
    try:
        col = client.get_collection(source["collection"])
        if source.get("ids"):
            _probe_collection(settings, col, source)  # a damaged collection's vectors are not carried forward
        got = col.get(include=["embeddings"])
        passages = {i: list(map(float, v)) for i, v in zip(got["ids"], got["embeddings"], strict=True)}
    except Exception:  # a damaged previous build is simply not reused
        passages = {}
    try:
        path = settings.data_dir / source["gen_dir"] / "sentences.npz"
        digest = source.get("files", {}).get("sentences.npz")
        if digest and _sha(path.read_bytes()) != digest:
            raise ValueError("checksum")
        with np.load(path) as data:
            sentences = {str(k): v.tolist() for k, v in zip(data["keys"], data["vectors"], strict=True)}
    except Exception:
        sentences = {}
    return passages, sentences

