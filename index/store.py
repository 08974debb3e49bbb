"""Chroma (embedded or server), the persisted BM25 state and the per-build files, built safely and incrementally.

Layout of the data directory:
    chroma/                  embedded Chroma (absent in server mode); chroma.damaged-<time>/ a store moved aside
    state[-host-port].json   the live build: collection name, generation folder, input fingerprint, file checksums
                             (replaced atomically: the switch from one generation to the next)
    gen-<n>/                 passages.json, entries.json, sentences.npz (spans, text vectors), sentences.npy,
                             words.json (the corpus's word counts), bm25/
    leases/                  one small file per running reader (or build in progress) and the generation it uses
    .build.lock              held by the one build running on this data directory

A build writes generation n+1 beside the live one (new Chroma collection, new folder) and only then replaces the
state file atomically. A build killed at any point leaves the previous state, collection and folder whole. Vectors
of texts (sentences, headings) already embedded are copied from the previous generation by the text's hash, not
re-embedded (index/vectors.py). Each generation has two collections: the passages, and their sentences (`-s`).

An older generation is dropped (its collection and folder) only when no live lease names it: a lease is live while
its process runs and was refreshed within its expiry (`generation_grace_s` for readers, refreshed at every
question). Readers (rag/live.py) switch to the new generation between questions and drop the old one when they let
go of it; a build drops what no lease holds.

Every way an index file can be unreadable is reported as IndexCorruptError naming the file and the fix: the state
is type-checked, the generation's files are checked against the checksums recorded in the state, the collection is
probed (a stored vector must find itself), and a Chroma failure while answering is mapped to the same error (or to
StoreUnavailableError for a server). `build_index` rebuilds a damaged generation even without `force`, and moves a
Chroma store it cannot open aside (never deleting it) before building a fresh one.

The code lives in index/chroma.py (the client), index/generations.py (state, checksums, leases), index/nodes.py
(passages as llama-index nodes) and index/build.py (the build); every public name stays importable from here.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from index.chroma import make_client, store_error
from index.errors import IndexCorruptError, IndexNotFoundError
from index.generations import (
    _UNREADABLE,
    BUILD_LEASE_S,
    LEASES_DIR,
    PARSER_VERSION,
    Lease,
    _damaged,
    _probe_collection,
    acquire_lease,
    collection_base,
    drop_unused_generations,
    generation_damage,
    input_fingerprint,
    live_leases,
    read_state,
    sentence_collection,
    settings_key,
    state_path,
    verify_generation,
)
from index.nodes import passage_sentences, to_node
from index.rows import RowFile
from index.settings import Settings
from index.types import Passage, SourceEntry
from index.vocabulary import read_words

if TYPE_CHECKING:
    from index.build import BuildReport

__all__ = [
    "BUILD_LEASE_S",
    "LEASES_DIR",
    "PARSER_VERSION",
    "IndexHandle",
    "Lease",
    "acquire_lease",
    "build_index",
    "collection_base",
    "drop_unused_generations",
    "generation_damage",
    "input_fingerprint",
    "is_built",
    "live_leases",
    "make_client",
    "open_index",
    "passage_sentences",
    "read_state",
    "settings_key",
    "state_path",
    "store_error",
    "to_node",
    "verify_generation",
]


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
    sentence_vectors: RowFile  # read row by row
    sentence_collection: Any = None  # the same vectors in Chroma, searched through its HNSW index
    client: Any = None  # the Chroma client the collection came from (to drop generations no one uses)

    def words(self) -> Counter[str]:
        """The corpus's word counts (index/vocabulary.py)."""
        return read_words(self.bm25_dir.parent / "words.json")


def open_index(settings: Settings) -> IndexHandle:
    """Open the live build for querying (never writes). IndexCorruptError names the first unreadable file."""
    state = read_state(settings)
    gen_dir = settings.data_dir / state["gen_dir"]
    if state.get("settings_key") != settings_key(settings):
        raise IndexNotFoundError("the index was built with another model or chunking; run `csto-qa index`")
    verify_generation(settings, state)
    path = gen_dir / "passages.json"
    try:
        passages = {p["id"]: Passage.model_validate(p) for p in json.loads(path.read_text(encoding="utf-8"))}
        path = gen_dir / "entries.json"
        entries = {e["key"]: SourceEntry.model_validate(e) for e in json.loads(path.read_text(encoding="utf-8"))}
        path = gen_dir / "sentences.npz"
        with np.load(path) as data:
            pids, spans = [str(x) for x in data["pids"]], data["rows"][:, 1:3]
        path = gen_dir / "sentences.npy"
        vectors = RowFile(path)  # rows are read when used, not loaded whole (index/rows.py)
        assert len(pids) == len(spans) == len(vectors) and all(pid in passages for pid in pids)
    except _UNREADABLE as exc:
        raise _damaged(path, f"cannot be read ({type(exc).__name__})") from None
    client = make_client(settings)
    collection = _existing(client, state["collection"])
    _probe_collection(settings, collection, state)
    sentences = _existing(client, sentence_collection(state["collection"]))
    return IndexHandle(
        settings, state, passages, entries, collection, gen_dir / "bm25", pids, spans, vectors, sentences, client
    )


def _existing(client: Any, name: str) -> Any:
    """A collection of the live build; IndexCorruptError when it is missing."""
    try:
        return client.get_collection(name)
    except IndexCorruptError:
        raise
    except Exception:
        raise IndexCorruptError(
            f"Chroma collection {name} is missing; run `csto-qa index` to rebuild the index"
        ) from None


def build_index(settings: Settings, force: bool = False, progress: bool = True, on_step: Any = None) -> BuildReport:
    """Build or update the index (index/build.py, imported only by what builds: answering never loads it)."""
    from index.build import build_index as build

    return build(settings, force=force, progress=progress, on_step=on_step)


def is_built(settings: Settings) -> bool:
    """True when a live build exists for the configured store."""
    try:
        read_state(settings)
        return True
    except (IndexNotFoundError, IndexCorruptError):
        return False
