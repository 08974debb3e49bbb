"""Chroma (embedded or server), the persisted BM25 state and the per-build files, built safely and incrementally.

Layout of the data directory:
    chroma/                  embedded Chroma (absent in server mode); chroma.damaged-<time>/ a store moved aside
    state[-host-port].json   the live build: collection name, generation folder, input fingerprint, file checksums
                             (replaced atomically: the switch from one generation to the next)
    gen-<n>/                 passages.json, entries.json, sentences.npz, bm25/ of generation n
    leases/                  one small file per running reader (or build in progress) and the generation it uses
    .build.lock              held by the one build running on this data directory

A build writes generation n+1 beside the live one (new Chroma collection, new folder) and only then replaces the
state file atomically. A build killed at any point leaves the previous state, collection and folder whole. Vectors
of passages and sentences whose content hash is unchanged are copied from the previous generation, not re-embedded.

An older generation is dropped (its collection and folder) only when no live lease names it: a lease is live while
its process runs and was refreshed within its expiry (`generation_grace_s` for readers, refreshed at every
question). Readers (rag/live.py) switch to the new generation between questions and drop the old one when they let
go of it; a build drops what no lease holds.

Every way an index file can be unreadable is reported as IndexCorruptError naming the file and the fix: the state
is type-checked, the generation's files are checked against the checksums recorded in the state, the collection is
probed (a stored vector must find itself), and a Chroma failure while answering is mapped to the same error (or to
StoreUnavailableError for a server). `build_index` rebuilds a damaged generation even without `force`, and moves a
Chroma store it cannot open aside (never deleting it) before building a fresh one.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from index.acronyms import acronyms, gloss
from index.article import split_sentences
from index.errors import BuildError, CstoQaError, IndexCorruptError, IndexNotFoundError, StoreUnavailableError
from index.settings import Settings
from index.types import Passage, SourceEntry

log = logging.getLogger(__name__)

LEASES_DIR = "leases"
BUILD_LEASE_S = 6 * 3600.0  # a build in progress holds its new generation this long at most
_GEN_DIR = re.compile(r"gen-\d{1,9}")
# what reading a damaged index file raises: json, numpy, zip, pydantic (a ValueError) and the OS
_UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile, AssertionError)

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
    """A Chroma client: HttpClient when a server is configured, else an embedded PersistentClient. Its failures (and
    those of the collections it returns) are StoreUnavailableError or IndexCorruptError, never raw Chroma errors."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    if settings.chroma_host:
        return _Guarded(_http_client(settings), settings)
    path = settings.data_dir / "chroma"
    if not create and not path.is_dir():
        raise IndexNotFoundError(f"no index in {settings.data_dir}; run `csto-qa index` first")
    try:
        client = chromadb.PersistentClient(path=str(path), settings=ChromaSettings(anonymized_telemetry=False))
    except Exception as exc:
        _forget_chroma_system(path)
        raise IndexCorruptError(
            f"cannot open the Chroma store {path} ({type(exc).__name__}: {_first_line(exc)}); run `csto-qa index` "
            "(it moves a damaged store aside and rebuilds)"
        ) from None
    return _Guarded(client, settings)


def _forget_chroma_system(path: Path) -> None:
    """Drop chromadb's cached System for a store that failed to start: chromadb keeps it (keyed by the path) and
    hands the broken one to every later client of that path in this process (no public API removes one entry)."""
    from chromadb.api.shared_system_client import SharedSystemClient

    with contextlib.suppress(Exception):
        SharedSystemClient._identifier_to_system.pop(str(path), None)
        SharedSystemClient._identifier_to_refcount.pop(str(path), None)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0][:200] if text else type(exc).__name__) or type(exc).__name__


def _http_client(settings: Settings) -> Any:
    """chromadb.HttpClient whose every request (its heartbeat included) ends within settings.chroma_timeout_s."""
    import chromadb
    import httpx
    from chromadb.config import Settings as ChromaSettings

    from index.net import guarded_client

    where, limit = f"{settings.chroma_host}:{settings.chroma_port}", settings.chroma_timeout_s

    def unavailable(exc: BaseException) -> StoreUnavailableError:
        if isinstance(exc, httpx.TimeoutException):
            why = f"no answer within {limit:g} s (chroma_timeout_s); check the server or raise CSTO_QA_CHROMA_TIMEOUT_S"
        else:
            why = f"{type(exc).__name__}: {_first_line(exc)}; start it or unset CSTO_QA_CHROMA_HOST"
        return StoreUnavailableError(f"cannot reach the Chroma server at {where}: {why}")

    session = guarded_client(call_deadline_s=limit, on_error=unavailable)
    try:  # our own heartbeat first: chromadb's client makes three requests with no timeout while it is created
        session.get(f"http://{where}/api/v2/heartbeat").raise_for_status()
    except httpx.HTTPStatusError as exc:
        session.close()
        raise StoreUnavailableError(
            f"the Chroma server at {where} answered HTTP {exc.response.status_code} to its heartbeat; check it"
        ) from None
    except BaseException:
        session.close()
        raise
    box: dict[str, Any] = {}

    def create() -> None:
        try:
            box["client"] = chromadb.HttpClient(
                host=settings.chroma_host or "",
                port=settings.chroma_port,
                settings=ChromaSettings(anonymized_telemetry=False),
            )
        except Exception as exc:
            box["error"] = exc

    worker = threading.Thread(target=create, name="chroma-connect", daemon=True)
    worker.start()
    worker.join(limit)  # a server that answered the heartbeat and then went silent leaves this thread waiting
    if worker.is_alive() or "error" in box:
        session.close()
        raise unavailable(box.get("error") or httpx.ReadTimeout("connect"))
    client = box["client"]
    server = getattr(client, "_server", None)
    chroma_session = getattr(server, "_session", None)
    if isinstance(chroma_session, httpx.Client):  # chromadb's own session has timeout=None: ours replaces it
        session.headers.update(chroma_session.headers)
        server._session = session  # type: ignore[union-attr]
        chroma_session.close()
    else:  # pragma: no cover - a chromadb release without `_session`; the fault tests would fail on it
        log.warning("chromadb has no _session to bound; calls to %s have no deadline", where)
    client.heartbeat()
    return client


# what SQLite and Chroma say of a store that is damaged (and only then is it moved aside)
_DAMAGE_WORDS = re.compile(
    r"not a database|malformed|corrupt|no such table|no such column|disk image|file is encrypted", re.I
)
_MAPPED = {"InternalError", "NotFoundError", "PanicException", "OperationalError", "DatabaseError"}


def store_error(settings: Settings, exc: BaseException) -> CstoQaError | None:
    """The documented error for a failure of Chroma (None when it is not one: a real bug stays what it is)."""
    if isinstance(exc, CstoQaError):
        return exc
    name = type(exc).__name__
    if settings.chroma_host:
        where = f"{settings.chroma_host}:{settings.chroma_port}"
        if name == "NotFoundError":
            return IndexCorruptError(
                f"a collection of the index is missing on the Chroma server at {where} ({_first_line(exc)}); "
                "run `csto-qa index` to rebuild it"
            )
        if type(exc).__module__.startswith(("chromadb", "httpx", "httpcore")):
            return StoreUnavailableError(f"the Chroma server at {where} failed ({name}: {_first_line(exc)}); check it")
        return None
    if name not in _MAPPED:
        return None
    path = settings.data_dir / "chroma"
    if name == "NotFoundError":
        return IndexCorruptError(
            f"a Chroma collection of the index in {path} is missing ({_first_line(exc)}); run `csto-qa index` to "
            "rebuild it"
        )
    return IndexCorruptError(
        f"the Chroma store {path} is unreadable ({name}: {_first_line(exc)}); run `csto-qa index` (it moves a "
        "damaged store aside and rebuilds)"
    )


class _Guarded:
    """A Chroma client or collection whose failures are StoreUnavailableError or IndexCorruptError."""

    def __init__(self, target: Any, settings: Settings) -> None:
        self._target, self._settings = target, settings

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if not callable(value):
            return value

        def call(*args: Any, **kwargs: Any) -> Any:
            try:
                out = value(*args, **kwargs)
            except BaseException as exc:  # PanicException (a Rust panic) is a BaseException
                mapped = store_error(self._settings, exc)
                if mapped is None or mapped is exc:
                    raise
                raise mapped from None
            return _Guarded(out, self._settings) if type(out).__name__ == "Collection" else out

        return call


def read_state(settings: Settings) -> dict[str, Any]:
    """The live build's state, or IndexNotFoundError / IndexCorruptError."""
    path = state_path(settings)
    if not path.is_file():
        raise IndexNotFoundError(f"no index in {settings.data_dir}; run `csto-qa index` first")
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
        assert isinstance(state, dict) and {"collection", "gen_dir", "fingerprint"} <= state.keys()
        assert all(isinstance(state[k], str) for k in ("collection", "gen_dir", "fingerprint"))
        assert _GEN_DIR.fullmatch(state["gen_dir"]) and isinstance(state.get("gen", 0), int)
        assert isinstance(state.get("ids", []), list) and isinstance(state.get("files", {}), dict)
    except (OSError, ValueError, AssertionError, UnicodeDecodeError):
        raise IndexCorruptError(f"{path} is unreadable; run `csto-qa index` to rebuild the index") from None
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


def generation_damage(settings: Settings, state: dict[str, Any]) -> str:
    """Why the generation a state names cannot be used ('' when it is whole): a file that fails its checksum or
    cannot be read, a missing or damaged collection. StoreUnavailableError passes through (a server that is down
    is not a damaged index)."""
    if not state.get("files"):
        return f"{state_path(settings).name} has no file checksums (written by an older csto-qa)"
    try:
        verify_generation(settings, state)
        client = make_client(settings)
        _probe_collection(settings, client.get_collection(state["collection"]), state)
    except (IndexCorruptError, IndexNotFoundError) as exc:
        return str(exc)
    return ""


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
        return _write_generation(
            settings, client, corpus, old, fingerprint, gen, name, gen_dir, progress, step, t0, notes
        )
    finally:
        building.release()


def _write_generation(
    settings: Settings,
    client: Any,
    corpus: Any,
    old: dict[str, Any] | None,
    fingerprint: str,
    gen: int,
    name: str,
    gen_dir: Path,
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
    if gen_dir.exists():
        shutil.rmtree(gen_dir)
    gen_dir.mkdir(parents=True)

    from index.embed import load_embedder

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
    files = {str(f.relative_to(gen_dir)): _sha(f.read_bytes()) for f in sorted(gen_dir.rglob("*")) if f.is_file()}
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
        "files": files,
        "built_at": time.time(),
        "store": f"{settings.chroma_host}:{settings.chroma_port}" if settings.chroma_host else "embedded",
    }
    removed = len(set((old or {}).get("ids", [])) - {n.node_id for n in nodes})
    state["ids"] = [n.node_id for n in nodes]
    _atomic_write(state_path(settings), json.dumps(state, indent=1))  # the switch: everything before is invisible
    _drop_unreferenced(client, settings, base, keep={name}, keep_dirs={gen_dir.name})  # what no reader holds
    configure_torch_threads(settings.torch_threads)
    return BuildReport(
        True,
        name,
        len(nodes),
        len(todo),
        len(nodes) - len(todo),
        removed,
        time.perf_counter() - t0,
        [*notes, *corpus.warnings],
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


def _newest_generation(settings: Settings, base: str) -> dict[str, Any] | None:
    """The newest generation folder left in the data directory, as a state to take vectors from (no checksums)."""
    numbers = [int(d.name[4:]) for d in settings.data_dir.glob("gen-*") if _GEN_DIR.fullmatch(d.name) and d.is_dir()]
    if not numbers:
        return None
    n = max(numbers)
    return {"collection": f"{base}-g{n}", "gen_dir": f"gen-{n}", "settings_key": settings_key(settings)}


def _drop_unreferenced(client: Any, settings: Settings, base: str, keep: set[str], keep_dirs: set[str]) -> None:
    """Delete collections of this store's prefix and generation folders that no state and no live lease refers to
    (left by killed builds, or older generations no reader uses any more)."""
    prefix = f"{base}-g"
    referenced, keep_dirs = set(keep), set(keep_dirs)
    for state_file in settings.data_dir.glob("state*.json"):
        try:
            state = json.loads(state_file.read_text())
            referenced.add(state["collection"])
            keep_dirs.add(state["gen_dir"])
        except (ValueError, KeyError, OSError, TypeError):
            continue
    leased_collections, leased_dirs = live_leases(settings)
    referenced |= leased_collections
    keep_dirs |= leased_dirs
    for col in client.list_collections():
        col_name = col.name if hasattr(col, "name") else str(col)
        if col_name.startswith(prefix) and col_name not in referenced:
            with contextlib.suppress(Exception):  # best-effort cleanup; a leftover collection is harmless
                client.delete_collection(col_name)
    for d in settings.data_dir.glob("gen-*"):
        if d.is_dir() and d.name not in keep_dirs:
            shutil.rmtree(d, ignore_errors=True)


def drop_unused_generations(settings: Settings, client: Any) -> None:
    """Drop the generations no state and no live lease refers to (best effort: never raises)."""
    try:
        _drop_unreferenced(client, settings, collection_base(settings), set(), set())
    except Exception as exc:  # a reader's clean-up must never fail its question
        log.warning("could not drop unused index generations in %s: %s", settings.data_dir, exc)


# --- leases: which generations running readers (and builds in progress) still use


@dataclass
class Lease:
    """A reader's (or a build's) claim on one generation: a file in DATA_DIR/leases, refreshed by touching it."""

    path: Path | None

    def refresh(self) -> None:
        """Mark the lease as in use now."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        """Give the generation up."""
        if self.path is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            self.path = None


def acquire_lease(settings: Settings, collection: str, gen_dir: str, expires_s: float) -> Lease:
    """Claim a generation for this process; a lease that cannot be written is logged and empty (the generation may
    then be dropped by a build under a reader that still uses it)."""
    folder = settings.data_dir / LEASES_DIR
    record = {
        "pid": os.getpid(),
        "host": socket.gethostname(),
        "collection": collection,
        "gen_dir": gen_dir,
        "expires_s": expires_s,
    }
    path = folder / f"{gen_dir}.{os.getpid()}.{secrets.token_hex(4)}.json"
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(record), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as exc:
        log.warning("cannot write a lease in %s (%s); a re-index may drop the generation in use", folder, exc)
        return Lease(None)
    lease = Lease(path)
    atexit.register(lease.release)  # a clean exit leaves no lease behind (a crash's is ended by its dead pid)
    return lease


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: it exists
        return True
    return True


def live_leases(settings: Settings) -> tuple[set[str], set[str]]:
    """The collections and generation folders held by live leases; expired or orphaned lease files are removed."""
    collections: set[str] = set()
    dirs: set[str] = set()
    host, now = socket.gethostname(), time.time()
    for path in (settings.data_dir / LEASES_DIR).glob("*.json"):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
            age = now - path.stat().st_mtime
            alive = record["host"] != host or _process_alive(int(record["pid"]))
            live = alive and age < float(record["expires_s"])
            held = (str(record["collection"]), str(record["gen_dir"]))
        except FileNotFoundError:
            continue  # released meanwhile
        except (OSError, ValueError, KeyError, TypeError):
            live, held = False, ("", "")
        if live:
            collections.add(held[0])
            dirs.add(held[1])
        else:
            with contextlib.suppress(OSError):
                path.unlink()
    return collections, dirs


# --- reading a generation


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
    client: Any = None  # the Chroma client the collection came from (to drop generations no one uses)


def _damaged(path: Path, why: str) -> IndexCorruptError:
    return IndexCorruptError(f"the index file {path} {why}; run `csto-qa index` to rebuild the index")


def verify_generation(settings: Settings, state: dict[str, Any]) -> None:
    """IndexCorruptError naming the first file of the generation that is missing, unreadable or not as built."""
    gen_dir = settings.data_dir / state["gen_dir"]
    if not gen_dir.is_dir():
        raise _damaged(gen_dir, "is missing")
    for name, digest in sorted(state.get("files", {}).items()):
        path = gen_dir / str(name)
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise _damaged(path, "is missing") from None
        except OSError as exc:
            raise _damaged(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
        if _sha(data) != digest:
            raise _damaged(path, "is damaged (its checksum does not match)")


def _probe_collection(settings: Settings, collection: Any, state: dict[str, Any]) -> None:
    """IndexCorruptError unless the collection holds the build's passages and a stored vector finds itself."""
    where = f"Chroma collection {state['collection']}"
    count = collection.count()
    if state.get("passages") is not None and count != state["passages"]:
        raise IndexCorruptError(
            f"the {where} holds {count} passages, not {state['passages']}; run `csto-qa index` to rebuild the index"
        )
    ids = [str(i) for i in state.get("ids", [])[:1]]
    if not ids:
        return
    got = collection.get(ids=ids, include=["embeddings"])
    vectors = got.get("embeddings")
    if vectors is None or len(vectors) != 1:
        raise IndexCorruptError(f"the {where} lost passage {ids[0]}; run `csto-qa index` to rebuild the index")
    hit = collection.query(query_embeddings=[[float(x) for x in vectors[0]]], n_results=1)
    distances = hit.get("distances") or [[]]
    if not distances[0] or float(distances[0][0]) > 1e-3:
        raise IndexCorruptError(f"the {where} does not find its own vectors; run `csto-qa index` to rebuild the index")


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
            pids, spans, vectors = [str(x) for x in data["pids"]], data["rows"][:, 1:3], data["vectors"]
        assert len(pids) == len(spans) == len(vectors) and all(pid in passages for pid in pids)
    except _UNREADABLE as exc:
        raise _damaged(path, f"cannot be read ({type(exc).__name__})") from None
    client = make_client(settings)
    try:
        collection = client.get_collection(state["collection"])
    except IndexCorruptError:
        raise
    except Exception:
        raise IndexCorruptError(
            f"Chroma collection {state['collection']} is missing; run `csto-qa index` to rebuild the index"
        ) from None
    _probe_collection(settings, collection, state)
    return IndexHandle(
        settings, state, passages, entries, collection, gen_dir / "bm25", pids, spans, vectors, client=client
    )


def is_built(settings: Settings) -> bool:
    """True when a live build exists for the configured store."""
    try:
        read_state(settings)
        return True
    except (IndexNotFoundError, IndexCorruptError):
        return False
