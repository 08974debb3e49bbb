"""Chroma (embedded or server), the persisted BM25 state and the per-build files, built safely and incrementally.

Layout of the data directory:
    chroma/                  embedded Chroma (absent in server mode)
    state[-host-port].json   the live build: collection name, generation folder, input fingerprint (atomic switch)
    gen-<n>/                 passages.json, entries.json, sentences.npz, bm25/ of generation n

A build writes generation n+1 beside the live one (new Chroma collection, new folder) and only then replaces the
state file atomically. A build killed at any point leaves the previous state, collection and folder whole. Vectors
of passages and sentences whose content hash is unchanged are copied from the previous generation, not re-embedded.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.acronyms import acronyms, gloss
from index.article import split_sentences
from index.errors import IndexCorruptError, IndexNotFoundError, StoreUnavailableError
from index.settings import Settings
from index.types import Passage, SourceEntry

PARSER_VERSION = "14"  # bump when parsing or chunking changes what passages are produced
_EMBED_KEYS = ("section", "subsection")


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def settings_key(settings: Settings) -> str:
    """What decides the vectors: the model and the chunking. Part of the collection name."""
    model = settings.resolved_model_path()
    return _sha(f"{model.name}|{settings.chunk_size}|{settings.chunk_overlap}|{PARSER_VERSION}")[:10]


def collection_base(settings: Settings) -> str:
    """Collection name prefix encoding the embedding model and the chunking settings."""
    path = settings.resolved_model_path()
    folder = path.parent.name if path.name in ("model", "models") else path.name  # the packaged model sits in .../model
    model = re.sub(r"[^a-zA-Z0-9]+", "-", folder).strip("-").lower()[:40] or "model"
    return f"csto-{model}-{settings_key(settings)}"


def state_path(settings: Settings) -> Path:
    """The state file of the configured store."""
    if settings.chroma_host:
        return (
            settings.data_dir
            / f"state-{re.sub(r'[^a-zA-Z0-9.]+', '_', settings.chroma_host)}-{settings.chroma_port}.json"
        )
    return settings.data_dir / "state.json"


def input_fingerprint(settings: Settings) -> str:
    """Hash of everything a build reads: corpus bytes, full-text files, settings key, parser version."""
    h = hashlib.sha256()
    h.update(settings.corpus_path.read_bytes())
    h.update(settings_key(settings).encode())
    src = settings.resolved_sources_dir
    if src.is_dir():
        for f in sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith(".")):
            h.update(f.name.encode())
            h.update(_sha(f.read_bytes()).encode())
    return h.hexdigest()


def make_client(settings: Settings, create: bool = False) -> Any:
    """A Chroma client: HttpClient when a server is configured, else an embedded PersistentClient."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False)
    if settings.chroma_host:
        try:
            client = chromadb.HttpClient(host=settings.chroma_host, port=settings.chroma_port, settings=chroma_settings)
            client.heartbeat()
        except Exception as exc:  # chromadb raises several unrelated types for a dead server
            raise StoreUnavailableError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} "
                f"({type(exc).__name__}); start it or unset CSTO_QA_CHROMA_HOST"
            ) from None
        return client
    path = settings.data_dir / "chroma"
    if not create and not path.is_dir():
        raise IndexNotFoundError(f"no index in {settings.data_dir}; run `csto-qa index` first")
    try:
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)
    except Exception as exc:
        raise IndexCorruptError(
            f"cannot open the Chroma store in {path} ({type(exc).__name__}: {exc}); run `csto-qa index --force`"
        ) from None


def read_state(settings: Settings) -> dict[str, Any]:
    """The live build's state, or IndexNotFoundError / IndexCorruptError."""
    path = state_path(settings)
    if not path.is_file():
        raise IndexNotFoundError(f"no index in {settings.data_dir}; run `csto-qa index` first")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(state, dict) and {"collection", "gen_dir", "fingerprint"} <= state.keys()
    except (ValueError, AssertionError, UnicodeDecodeError):
        raise IndexCorruptError(f"{path} is unreadable; run `csto-qa index --force` to rebuild") from None
    return state


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


# a sentence that opens with a pronoun or a connective means little without the one before it
_LEANS_ON_PREVIOUS = re.compile(
    r"(?:It|Its|They|Their|Them|This|These|That|Those|Such|He|She|His|Her|However|Therefore|Thus|Consequently|"
    r"Nevertheless|Nonetheless|Accordingly|Hence|Concurrently|Further|Furthermore|Moreover|Additionally|Instead)\b"
)


def passage_sentences(p: Passage) -> list[tuple[int, int]]:
    """Sentence spans of a passage; a source card's descriptive lines count as sentences (its list of citing
    sentences repeats article sentences, which are quoted from the article passages instead)."""
    if p.kind == "source_card":
        spans, pos = [], 0
        for line in p.text.split("\n"):
            if line.startswith(("Cited in the article", "- ", "The article lists")):
                break
            if line.strip():
                spans.append((pos, pos + len(line)))
            pos += len(line) + 1
        return spans
    return split_sentences(p.text)


def to_node(p: Passage, embedding: list[float] | None = None) -> Any:
    """A llama-index TextNode for a passage; section headings are part of what is embedded and BM25-indexed."""
    from llama_index.core.schema import TextNode

    meta = {
        "kind": p.kind,
        "section": p.section,
        "subsection": p.subsection,
        "paragraph": p.paragraph,
        "source_key": p.source_key,
        "page": p.page,
    }
    return TextNode(
        id_=p.id,
        text=p.text,
        metadata=meta,
        embedding=embedding,
        excluded_embed_metadata_keys=[k for k in meta if k not in _EMBED_KEYS],
        excluded_llm_metadata_keys=list(meta),
    )


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
    """Build or update the index; a no-op when nothing it reads has changed."""
    t0 = time.perf_counter()
    step = on_step or (lambda _msg: None)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    fingerprint = input_fingerprint(settings)
    old: dict[str, Any] | None
    try:
        old = read_state(settings)
    except (IndexNotFoundError, IndexCorruptError):
        old = None
    if old and not force and old["fingerprint"] == fingerprint and (settings.data_dir / old["gen_dir"]).is_dir():
        return BuildReport(
            False, old["collection"], old.get("passages", 0), 0, 0, 0, time.perf_counter() - t0, old.get("warnings", [])
        )

    from index.corpus import load_corpus
    from index.embed import load_embedder

    step("parsing the article, bibliography and full texts")
    corpus = load_corpus(
        settings.corpus_path, settings.chunk_size, settings.chunk_overlap, settings.resolved_sources_dir
    )
    client = make_client(settings, create=True)
    gen = (old or {}).get("gen", 0) + 1
    base = collection_base(settings)
    name = f"{base}-g{gen}"
    gen_dir = settings.data_dir / f"gen-{gen}"
    _drop_unreferenced(
        client, settings, base, keep={(old or {}).get("collection", "")}, keep_dirs={(old or {}).get("gen_dir", "")}
    )
    if gen_dir.exists():
        shutil.rmtree(gen_dir)
    gen_dir.mkdir(parents=True)

    old_vectors, old_sentences = _previous_vectors(client, settings, old, base)
    embedder = load_embedder(settings.resolved_model_path(), settings.torch_threads)
    from llama_index.core.schema import MetadataMode

    from index.offline import configure_torch_threads

    configure_torch_threads(max(settings.torch_threads, settings.build_threads))  # throughput while building

    nodes = [to_node(p) for p in corpus.passages]
    todo = [n for n in nodes if n.node_id not in old_vectors]
    step(f"embedding {len(todo)} passages ({len(nodes) - len(todo)} reused)")
    new_vecs = _embed([n.get_content(metadata_mode=MetadataMode.EMBED) for n in todo], embedder, progress, "passages")
    for n, v in zip(todo, new_vecs, strict=True):
        old_vectors[n.node_id] = v
    for n in nodes:
        n.embedding = old_vectors[n.node_id]

    table = acronyms([p.text for p in corpus.passages if p.kind == "article"])
    sent_rows: list[tuple[str, int, int]] = []
    readings: list[tuple[str, ...]] = []  # the texts whose mean vector stands for each sentence
    for p in corpus.passages:
        previous = ""
        for s, e in passage_sentences(p):
            sent_rows.append((p.id, s, e))
            text = gloss(p.text[s:e], table)  # "The SCO is ..." embedded with its long form
            # "They provide experience ...": read alone and with the sentence that says what "they" are
            readings.append((text, f"{previous} {text}") if previous and _LEANS_ON_PREVIOUS.match(text) else (text,))
            previous = p.text[s:e]
    sent_keys = [_sha("\n".join(r))[:20] for r in readings]
    missing = [i for i, k in enumerate(sent_keys) if k not in old_sentences]
    step(f"embedding {len(missing)} sentences ({len(sent_keys) - len(missing)} reused)")
    flat = iter(_embed([t for i in missing for t in readings[i]], embedder, progress, "sentences"))
    miss_vecs = []
    for i in missing:
        mean = np.mean([np.asarray(next(flat), dtype=np.float32) for _ in readings[i]], axis=0)
        miss_vecs.append((mean / (np.linalg.norm(mean) or 1.0)).tolist())
    for i, v in zip(missing, miss_vecs, strict=True):
        old_sentences[sent_keys[i]] = v
    sent_matrix = np.asarray([old_sentences[k] for k in sent_keys], dtype=np.float32).reshape(len(sent_keys), -1)

    step("writing the Chroma collection")
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
    for i in range(0, len(nodes), 256):
        store.add(nodes[i : i + 256])

    step("writing BM25 and passage files")
    from llama_index.retrievers.bm25 import BM25Retriever

    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=min(settings.bm25_k, len(nodes)))
    bm25.persist(str(gen_dir / "bm25"))
    (gen_dir / "passages.json").write_text(json.dumps([p.model_dump() for p in corpus.passages]), encoding="utf-8")
    (gen_dir / "entries.json").write_text(json.dumps([e.model_dump() for e in corpus.entries]), encoding="utf-8")
    np.savez(
        gen_dir / "sentences.npz",
        rows=np.asarray([(0, s, e) for _, s, e in sent_rows], dtype=np.int32),
        pids=np.asarray([pid for pid, _, _ in sent_rows]),
        keys=np.asarray(sent_keys),
        vectors=sent_matrix,
    )
    state = {
        "version": 1,
        "gen": gen,
        "collection": name,
        "gen_dir": gen_dir.name,
        "fingerprint": fingerprint,
        "settings_key": settings_key(settings),
        "passages": len(nodes),
        "sentences": len(sent_keys),
        "warnings": corpus.warnings,
        "built_at": time.time(),
        "store": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
    }
    removed = len(set((old or {}).get("ids", [])) - {n.node_id for n in nodes})
    state["ids"] = [n.node_id for n in nodes]
    _atomic_write(state_path(settings), json.dumps(state, indent=1))  # the switch: everything before is invisible
    _drop_unreferenced(client, settings, base, keep={name}, keep_dirs={gen_dir.name})
    configure_torch_threads(settings.torch_threads)
    return BuildReport(
        True, name, len(nodes), len(todo), len(nodes) - len(todo), removed, time.perf_counter() - t0, corpus.warnings
    )


def _embed(texts: list[str], embedder: Any, progress: bool, what: str) -> list[list[float]]:
    if not texts:
        return []
    from tqdm.auto import tqdm

    out: list[list[float]] = []
    bar = tqdm(total=len(texts), desc=f"embedding {what}", unit="text", disable=not progress, leave=False)
    for i in range(0, len(texts), 64):
        batch = texts[i : i + 64]
        out.extend(embedder.get_text_embedding_batch(batch))
        bar.update(len(batch))
    bar.close()
    return out


def _previous_vectors(
    client: Any, settings: Settings, old: dict[str, Any] | None, base: str
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Passage vectors (by id) and sentence vectors (by text hash) of the live build, when it is compatible."""
    if not old or old.get("settings_key") != settings_key(settings):
        return {}, {}
    try:
        col = client.get_collection(old["collection"])
        got = col.get(include=["embeddings"])
        passages = {i: list(map(float, v)) for i, v in zip(got["ids"], got["embeddings"], strict=True)}
        data = np.load(settings.data_dir / old["gen_dir"] / "sentences.npz")
        sentences = {str(k): v.tolist() for k, v in zip(data["keys"], data["vectors"], strict=True)}
        return passages, sentences
    except Exception:  # a damaged previous build is simply not reused
        return {}, {}


def _drop_unreferenced(client: Any, settings: Settings, base: str, keep: set[str], keep_dirs: set[str]) -> None:
    """Delete collections of this store's prefix and generation folders no state refers to (left by killed builds)."""
    prefix = f"{base}-g"
    referenced, keep_dirs = set(keep), set(keep_dirs)
    for state_file in settings.data_dir.glob("state*.json"):
        try:
            state = json.loads(state_file.read_text())
            referenced.add(state["collection"])
            keep_dirs.add(state["gen_dir"])
        except (ValueError, KeyError, OSError, TypeError):
            continue
    for col in client.list_collections():
        col_name = col.name if hasattr(col, "name") else str(col)
        if col_name.startswith(prefix) and col_name not in referenced:
            with contextlib.suppress(Exception):  # best-effort cleanup; a leftover collection is harmless
                client.delete_collection(col_name)
    for d in settings.data_dir.glob("gen-*"):
        if d.is_dir() and d.name not in keep_dirs:
            shutil.rmtree(d, ignore_errors=True)


@dataclass
class IndexHandle:
    """An opened build: passages, entries, the Chroma collection, BM25 state and sentence vectors."""

    settings: Settings
    state: dict[str, Any]
    passages: dict[str, Passage]
    entries: dict[str, SourceEntry]
    collection: Any
    bm25_dir: Path
    sentence_pids: list[str]
    sentence_spans: np.ndarray
    sentence_vectors: np.ndarray


def open_index(settings: Settings) -> IndexHandle:
    """Open the live build for querying (never writes)."""
    state = read_state(settings)
    gen_dir = settings.data_dir / state["gen_dir"]
    if state.get("settings_key") != settings_key(settings):
        raise IndexNotFoundError("the index was built with another model or chunking; run `csto-qa index`")
    try:
        passages = {p["id"]: Passage.model_validate(p) for p in json.loads((gen_dir / "passages.json").read_text())}
        entries = {e["key"]: SourceEntry.model_validate(e) for e in json.loads((gen_dir / "entries.json").read_text())}
        data = np.load(gen_dir / "sentences.npz")
        pids, spans, vectors = [str(x) for x in data["pids"]], data["rows"][:, 1:3], data["vectors"]
    except (OSError, ValueError, KeyError) as exc:
        raise IndexCorruptError(
            f"the index in {settings.data_dir} is damaged ({type(exc).__name__}); run `csto-qa index --force`"
        ) from None
    client = make_client(settings)
    try:
        collection = client.get_collection(state["collection"])
    except Exception:
        raise IndexCorruptError(
            f"Chroma collection {state['collection']} is missing; run `csto-qa index --force`"
        ) from None
    return IndexHandle(settings, state, passages, entries, collection, gen_dir / "bm25", pids, spans, vectors)


def is_built(settings: Settings) -> bool:
    """True when a live build exists for the configured store."""
    try:
        read_state(settings)
        return True
    except (IndexNotFoundError, IndexCorruptError):
        return False
