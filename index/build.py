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

from index.chroma import _DAMAGE_WORDS, _forget_chroma_system, make_client
from index.errors import BuildError, IndexCorruptError, IndexNotFoundError
from index.generations import (
    _GEN_DIR,
    BUILD_LEASE_S,
    _atomic_write,
    _drop_unreferenced,
    _newest_generation,
    acquire_lease,
    collection_base,
    file_sha,
    generation_damage,
    input_fingerprint,
    read_state,
    sentence_collection,
    settings_key,
    state_path,
)
from index.nodes import to_node
from index.settings import Settings
from index.vectors import Vectors, build_vectors
from index.vocabulary import write_words


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
    cache = _previous_vectors(settings, old, base)  # before anything is dropped
    _drop_unreferenced(
        client, settings, base, keep={(old or {}).get("collection", "")}, keep_dirs={(old or {}).get("gen_dir", "")}
    )
    if target.gen_dir.exists():
        shutil.rmtree(target.gen_dir)
    target.gen_dir.mkdir(parents=True)
    nodes = [to_node(p) for p in corpus.passages]
    vectors = build_vectors(
        corpus, [_heading(n) for n in nodes], cache, lambda texts: _embed(settings, texts, progress), step
    )
    for n in nodes:
        n.embedding = vectors.passages[n.node_id]
    _export_if_missing(settings, step)  # the ONNX export questions are embedded with, made once per data directory
    step("writing the Chroma collections")
    _write_collection(settings, client, target.name, nodes)
    _write_sentence_collection(settings, client, sentence_collection(target.name), vectors.matrix, progress)
    step("writing BM25 and passage files")
    files = _write_files(settings, corpus, nodes, vectors, target.gen_dir)
    state = {
        "version": 1,
        "gen": target.gen,
        "collection": target.name,
        "gen_dir": target.gen_dir.name,
        "fingerprint": target.fingerprint,
        "settings_key": settings_key(settings),
        "passages": len(nodes),
        "sentences": len(vectors.rows),
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
    return BuildReport(
        True, target.name, len(nodes), vectors.embedded, vectors.reused, removed, seconds, [*notes, *corpus.warnings]
    )


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

    metadata = {"hnsw:space": "cosine", "model": settings.resolved_model_path().name}
    collection = _fresh_collection(settings, client, name, metadata)
    store = ChromaVectorStore(chroma_collection=collection)
    for i in range(0, len(nodes), 1024):
        store.add(nodes[i : i + 1024])


def _fresh_collection(settings: Settings, client: Any, name: str, metadata: dict[str, Any]) -> Any:
    """An empty collection of this name (one left by a killed build is dropped first), tagged with the settings key."""
    if name in {c.name if hasattr(c, "name") else c for c in client.list_collections()}:
        client.delete_collection(name)
    return client.create_collection(name, metadata={**metadata, "settings_key": settings_key(settings)})


SENTENCE_SEARCH_EF = 256  # HNSW candidate list of a search (Chroma's default 100): the best-sentence ranking is
# fetched 4-16x deeper than the passages wanted, and a deeper list keeps it equal to the exact product (a test)


def _write_sentence_collection(settings: Settings, client: Any, name: str, matrix: np.ndarray, progress: bool) -> None:
    """A fresh Chroma collection of the sentence vectors (id: the sentence's row), searched through its HNSW index
    instead of a product with every sentence vector."""
    from tqdm import tqdm

    collection = _fresh_collection(
        settings, client, name, {"hnsw:space": "cosine", "hnsw:search_ef": SENTENCE_SEARCH_EF}
    )
    batch = 4096
    for i in tqdm(range(0, len(matrix), batch), desc="sentences", unit="batch", disable=not progress):
        rows = matrix[i : i + batch]
        collection.add(ids=[str(r) for r in range(i, i + len(rows))], embeddings=rows)


def _heading(node: Any) -> str:
    """The section and subsection a passage's vector is read with (as llama-index renders them for embedding)."""
    from llama_index.core.schema import MetadataMode

    return str(node.get_metadata_str(mode=MetadataMode.EMBED))


def _embed(settings: Settings, texts: list[str], progress: bool) -> list[list[float]]:
    """Vectors of texts with the sentence-transformers model, loaded only when a build has texts to embed."""
    from index.embed import encode_texts, load_embedder
    from index.offline import configure_torch_threads

    embedder = load_embedder(settings.resolved_model_path(), settings.torch_threads)
    configure_torch_threads(max(settings.torch_threads, settings.build_threads))  # throughput while building
    try:
        return encode_texts(embedder, texts, progress)
    finally:
        configure_torch_threads(settings.torch_threads)


def _write_files(settings: Settings, corpus: Any, nodes: list[Any], vectors: Vectors, gen_dir: Path) -> dict:
    """BM25 state, passages, entries, sentence vectors and the text vectors of the generation; their checksums by
    relative path."""
    from llama_index.retrievers.bm25 import BM25Retriever

    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(settings.bm25_k, len(nodes)))
    bm25.persist(str(gen_dir / "bm25"))
    (gen_dir / "passages.json").write_text(json.dumps([p.model_dump() for p in corpus.passages]), encoding="utf-8")
    (gen_dir / "entries.json").write_text(json.dumps([e.model_dump() for e in corpus.entries]), encoding="utf-8")
    write_words(gen_dir / "words.json", (p.text for p in corpus.passages))
    np.save(gen_dir / "sentences.npy", vectors.matrix)  # memory-mapped when opened: only the rows read are loaded
    np.savez(
        gen_dir / "sentences.npz",
        rows=np.asarray([(0, s, e) for _, s, e in vectors.rows], dtype=np.int32),
        pids=np.asarray([pid for pid, _, _ in vectors.rows]),
        text_keys=np.asarray(list(vectors.cache)),
        text_vectors=np.asarray(list(vectors.cache.values()), dtype=np.float32),
    )
    return {str(f.relative_to(gen_dir)): file_sha(f) for f in sorted(gen_dir.rglob("*")) if f.is_file()}


def _previous_vectors(settings: Settings, old: dict[str, Any] | None, base: str) -> dict[str, np.ndarray]:
    """Text vectors (by text key) of the live build when it is compatible (after a damaged state: of the newest
    generation left), only when its file reads back whole."""
    source = old if old and old.get("settings_key") == settings_key(settings) else None
    if old is None:
        source = _newest_generation(settings, base)
    if source is None:
        return {}
    try:
        path = settings.data_dir / source["gen_dir"] / "sentences.npz"
        digest = source.get("files", {}).get("sentences.npz")
        if digest and file_sha(path) != digest:
            raise ValueError("checksum")
        with np.load(path) as data:
            return dict(zip((str(k) for k in data["text_keys"]), data["text_vectors"], strict=True))
    except Exception:  # a damaged or older previous build is simply not reused
        return {}
