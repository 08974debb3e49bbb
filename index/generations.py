"""Index generations: the state file (the live build), settings keys and fingerprints, file checksums and the
collection probe, leases held by readers and builds, and dropping what no one holds."""

from __future__ import annotations

import atexit
import contextlib
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import socket
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from index.chroma import catalogue_whole, make_client
from index.errors import IndexCorruptError, IndexNotFoundError
from index.settings import Settings

log = logging.getLogger(__name__)

LEASES_DIR = "leases"
BUILD_LEASE_S = 6 * 3600.0  # a build in progress holds its new generation this long at most
_GEN_DIR = re.compile(r"gen-\d{1,9}")
# what reading a damaged index file raises: json, numpy, zip, pydantic (a ValueError) and the OS
_UNREADABLE = (OSError, ValueError, KeyError, IndexError, TypeError, EOFError, zipfile.BadZipFile, AssertionError)

PARSER_VERSION = "19"  # bump when parsing, chunking or the way vectors are made changes
_EMBED_KEYS = ("section", "subsection")


def _sha(data: bytes | str) -> str:
    return hashlib.sha256(data.encode() if isinstance(data, str) else data).hexdigest()


def file_sha(path: Path) -> str:
    """The checksum of a file, read in blocks (a large one is never held in memory whole)."""
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def sentence_collection(collection: str) -> str:
    """The name of the collection holding the sentence vectors of the generation whose passages are `collection`."""
    return f"{collection}-s"


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
            h.update(file_sha(f).encode())
    return h.hexdigest()


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


def generation_damage(settings: Settings, state: dict[str, Any]) -> str:
    """Why the generation a state names cannot be used ('' when it is whole): a file that fails its checksum or
    cannot be read, a missing or damaged collection. StoreUnavailableError passes through (a server that is down
    is not a damaged index)."""
    if not state.get("files"):
        return f"{state_path(settings).name} has no file checksums (written by an older csto-qa)"
    try:
        verify_generation(settings, state)
        counts = {
            state["collection"]: state.get("passages", -1),
            sentence_collection(state["collection"]): state.get("sentences", -1),
        }
        if catalogue_whole(settings, counts):
            return ""  # without importing chromadb (0.5 s); a damage this cannot see is found when asking
        client = make_client(settings)
        _probe_collection(settings, client.get_collection(state["collection"]), state)
        _count_sentences(client.get_collection(sentence_collection(state["collection"])), state)
    except (IndexCorruptError, IndexNotFoundError) as exc:
        return str(exc)
    return ""


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
        if col_name.startswith(prefix) and col_name.removesuffix("-s") not in referenced:
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
            found = file_sha(path)
        except FileNotFoundError:
            raise _damaged(path, "is missing") from None
        except OSError as exc:
            raise _damaged(path, f"cannot be read ({exc.strerror or type(exc).__name__})") from None
        if found != digest:
            raise _damaged(path, "is damaged (its checksum does not match)")


def _count_sentences(collection: Any, state: dict[str, Any]) -> None:
    """IndexCorruptError unless the sentence collection holds every sentence of the build."""
    count = collection.count()
    if state.get("sentences") is not None and count != state["sentences"]:
        raise IndexCorruptError(
            f"the Chroma collection {collection.name} holds {count} sentences, not {state['sentences']}; run "
            "`csto-qa index --force` to rebuild the index"
        )


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
        raise IndexCorruptError(f"the {where} lost passage {ids[0]}; run `csto-qa index --force` to rebuild the index")
    hit = collection.query(query_embeddings=[[float(x) for x in vectors[0]]], n_results=1)
    distances = hit.get("distances") or [[]]
    if not distances[0] or float(distances[0][0]) > 1e-3:
        raise IndexCorruptError(
            f"the {where} does not find its own vectors; run `csto-qa index --force` to rebuild the index"
        )
