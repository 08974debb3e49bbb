"""Benchmark: index build, no-op rebuild, cold `csto-qa ask`, warm ask p50/p95 with the time of each stage, disk
size and peak RSS, on the real article or a synthetic corpus of N chunks (issue 26).

Usage:
    python scripts/bench.py                      # the real article, beside the start commit measured in this run
    python scripts/bench.py --scale 10000        # + N synthetic chunks (full texts of the cited works)
    python scripts/bench.py --scale 10000 --server  # the same corpus in a real `chroma run` server

Shared machines are noisy: every figure is a median within this run, printed beside the start commit's figure
measured in the same run (the real article only: --start REV) and beside the previous run kept in
scripts/bench-results.json, which this script updates (--no-record leaves it alone). The README's Benchmarks table
is generated from that file by scripts/bench_readme.py.

The synthetic corpus: chunks of four of the article's own sentences drawn at random (shuffled and recombined, the
vocabulary kept), written as full texts of the cited works (one page a chunk) next to the real article. Each chunk
is a new passage to embed; a sentence is embedded once whatever the number of chunks quoting it, except when it
leans on the one before it (it is then also read with that one, a new pair).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "scripts" / "bench-results.json"
START_REV = "7072982"  # main when issue 26 was taken up: the figures the issue quotes come from this code
QUESTIONS = ROOT / "eval" / "sets" / "dataset.jsonl"
COLD_QUESTION = "When was the CSTO established?"

# the warm measurement, run in a fresh interpreter inside the source tree measured (so the start commit's code runs
# the same script); the retrievers are wrapped with timers here, the product code is not changed for it
_WARM = r"""
import json, resource, statistics, sys, time
from index.settings import load_settings
from rag import Assistant
questions, stages = json.loads(sys.argv[1]), {}
def timed(obj, attr, key):
    inner = getattr(obj, attr)
    def call(*a, **k):
        t = time.perf_counter()
        try:
            return inner(*a, **k)
        finally:
            stages[key] = stages.get(key, 0.0) + (time.perf_counter() - t) * 1000
    object.__setattr__(obj, attr, call)
a = Assistant.from_settings(load_settings())
r = a.retriever
timed(r, "embed_queries", "embed")
for name, key in (("dense", "dense"), ("bm25", "bm25"), ("sentences", "sentences")):
    timed(getattr(r, name), "retrieve", key)
a.ask("warm-up question about the CSTO")
stages.clear()
lat, parts, answers = [], {}, {}
for q in questions:
    t = time.perf_counter()
    ans = a.ask(q)
    lat.append((time.perf_counter() - t) * 1000)
    answers[q] = ans.text
    for k, v in (ans.timings_ms or {}).items():
        parts.setdefault(k, []).append(v)
lat.sort()
n = len(lat)
out = {
    "warm_ask_ms_p50": statistics.median(lat),
    "warm_ask_ms_p95": lat[min(n - 1, round(0.95 * (n - 1)))],
    "peak_rss_mb_warm": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    "passages": len(a.handle.passages),
    "sentences": len(a.handle.sentence_pids),
}
out.update({f"stage_ms_{k}": v / n for k, v in stages.items()})
out.update({f"stage_ms_{k}": statistics.mean(v) for k, v in parts.items() if k in ("parse", "read_compose")})
out["answers"] = answers
print("BENCH " + json.dumps(out))
"""


def _env(data_dir: Path, server: tuple[str, int] | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSTO_QA_")}
    env["CSTO_QA_DATA_DIR"] = str(data_dir)
    if server:
        env["CSTO_QA_CHROMA_HOST"], env["CSTO_QA_CHROMA_PORT"] = server[0], str(server[1])
    return env


def _run(args: list[str], src: Path, env: dict[str, str]) -> tuple[float, str]:
    """Wall seconds and stdout of one child process."""
    t0 = time.perf_counter()
    proc = subprocess.run(args, cwd=src, env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"{' '.join(args[:4])} failed in {src}: {proc.stderr.strip()[-600:]}")
    return time.perf_counter() - t0, proc.stdout


def _rss_probe(src: Path, env: dict[str, str], *args: str) -> tuple[float, float, str]:
    """Like _cli, with the child's own peak RSS (it reports it at exit, whatever ran before)."""
    code = (
        "import atexit, resource, runpy, sys\n"
        "atexit.register(lambda: print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr))\n"
        f"sys.argv = ['csto-qa', *{list(args)!r}]\n"
        "runpy.run_module('ui.cli', run_name='__main__')\n"
    )
    t0 = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], cwd=src, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise SystemExit(f"csto-qa {' '.join(args)} failed in {src}: {proc.stderr.strip()[-600:]}")
    rss = [float(line.split()[1]) / 1024 for line in proc.stderr.splitlines() if line.startswith("RSS ")]
    return seconds, rss[-1] if rss else 0.0, proc.stdout


def _disk_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and "sources" not in f.parts) / 2**20


def synthesize(data_dir: Path, chunks: int, seed: int = 26) -> int:
    """Write `chunks` synthetic one-page chunks as full texts of the cited works into data_dir/sources."""
    sys.path.insert(0, str(ROOT))
    from index.article import split_sentences
    from index.corpus import load_corpus
    from index.settings import load_settings

    settings = load_settings(data_dir=data_dir)
    corpus = load_corpus(settings.corpus_path, settings.chunk_size, settings.chunk_overlap, None)
    sentences = [p.text[s:e] for p in corpus.passages if p.kind == "article" for s, e in split_sentences(p.text)]
    sentences = [s for s in sentences if 6 <= len(s.split()) <= 45]
    keys = [e.key for e in corpus.entries]
    rng = random.Random(seed)
    pages: dict[str, list[str]] = {k: [] for k in keys}
    for i in range(chunks):
        pages[keys[i % len(keys)]].append(" ".join(rng.sample(sentences, 4)))  # a new chunk of the article's words
    folder = settings.resolved_sources_dir
    folder.mkdir(parents=True, exist_ok=True)
    for key, texts in pages.items():
        if texts:
            (folder / f"{key}.txt").write_text("\f".join(texts), encoding="utf-8")
    return chunks


def start_server() -> tuple[subprocess.Popen[bytes], tuple[str, int], Path]:
    """A real `chroma run` server on a free local port, its store in a temporary folder."""
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    path = Path(tempfile.mkdtemp(prefix="csto-bench-chroma-"))
    chroma = Path(sys.executable).with_name("chroma")
    proc = subprocess.Popen(
        [str(chroma), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(300):
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1):  # noqa: S310
                return proc, ("127.0.0.1", port), path
        except OSError:
            time.sleep(0.2)
    proc.kill()
    raise SystemExit("the Chroma server did not start")


def measure(src: Path, data_dir: Path, args: argparse.Namespace, server: tuple[str, int] | None) -> dict[str, Any]:
    """Every figure of one source tree on one data directory."""
    env = _env(data_dir, server)
    build_s, build_rss, _ = _rss_probe(src, env, "index", "--quiet")
    noop = [_run([sys.executable, "-m", "ui.cli", "index", "--quiet"], src, env)[0] for _ in range(args.repeats)]
    cold, cold_rss, cold_text = [], [], ""
    for _ in range(args.repeats):
        s, rss, cold_text = _rss_probe(src, env, "ask", COLD_QUESTION)
        cold.append(s)
        cold_rss.append(rss)
    questions = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()]
    _, out = _run([sys.executable, "-c", _WARM, json.dumps([COLD_QUESTION, *questions[: args.questions]])], src, env)
    warm = json.loads(next(line[6:] for line in out.splitlines() if line.startswith("BENCH ")))
    answers = warm.pop("answers")
    passages = warm.pop("passages")
    figures = {
        "build_s": build_s,
        "build_chunks_per_s": passages / build_s,
        "noop_s": statistics.median(noop),
        "cold_ask_s": statistics.median(cold),
        "peak_rss_mb_cli_ask": statistics.median(cold_rss),
        "peak_rss_mb_build": build_rss,
        "disk_mb": _disk_mb(data_dir),
        "passages": passages,
        **warm,
        "cold_equals_warm": float(cold_text.startswith(answers[COLD_QUESTION].strip())),
    }
    return {k: round(v, 3) if isinstance(v, float) else v for k, v in figures.items()}


def query_stages(chunks: int, questions: int) -> None:
    """Only the stages that grow with the corpus, at a size whose build is out of reach on a small machine: BM25
    over `chunks` synthetic chunk texts (real words, nothing embedded) and the best-sentence product over 4x as many
    random unit vectors (the shape of the real matrix). Printed, never recorded: not a substitute for a real run."""
    import resource

    import numpy as np
    from llama_index.core.schema import QueryBundle, TextNode
    from llama_index.retrievers.bm25 import BM25Retriever

    from index.article import split_sentences
    from index.corpus import load_corpus
    from index.settings import load_settings

    settings = load_settings(data_dir=Path(tempfile.gettempdir()))
    corpus = load_corpus(settings.corpus_path, settings.chunk_size, settings.chunk_overlap, None)
    sentences = [p.text[s:e] for p in corpus.passages if p.kind == "article" for s, e in split_sentences(p.text)]
    rng = random.Random(26)
    nodes = [TextNode(id_=f"n{i}", text=" ".join(rng.sample(sentences, 4))) for i in range(chunks)]
    bm25 = BM25Retriever.from_defaults(nodes=nodes, similarity_top_k=settings.bm25_k)
    asked = [json.loads(line)["question"] for line in QUESTIONS.read_text(encoding="utf-8").splitlines()][:questions]
    vectors = np.random.default_rng(0).standard_normal((4 * chunks, 384)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    owner = np.sort(np.random.default_rng(1).integers(0, chunks, 4 * chunks))
    bm, sent = [], []
    for q in asked:
        t0 = time.perf_counter()
        bm25.retrieve(QueryBundle(q))
        t1 = time.perf_counter()
        best = np.full(chunks, -1.0, dtype=np.float32)
        np.maximum.at(best, owner, vectors @ vectors[rng.randrange(len(vectors))])
        np.argsort(-best)[: settings.dense_k]
        bm.append((t1 - t0) * 1000)
        sent.append((time.perf_counter() - t1) * 1000)
    for name, lat in (("bm25", sorted(bm)), ("sentences", sorted(sent))):
        p95 = lat[min(len(lat) - 1, round(0.95 * (len(lat) - 1)))]
        print(f"{chunks} chunks, stage {name}: p50 {statistics.median(lat):.1f} ms, p95 {p95:.1f} ms")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def start_tree(rev: str) -> Path:
    """The source tree of a commit, in a temporary folder (the venv is the same; the tree's modules come first)."""
    dest = Path(tempfile.mkdtemp(prefix="csto-bench-src-"))
    archive = subprocess.run(["git", "archive", rev], cwd=ROOT, capture_output=True, check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(dest)], input=archive, check=True)
    return dest


SHOWN = (  # (key, label, lower is better)
    ("cold_ask_s", "cold `csto-qa ask` median (s)", True),
    ("warm_ask_ms_p50", "warm ask p50 (ms)", True),
    ("warm_ask_ms_p95", "warm ask p95 (ms)", True),
    ("build_s", "index build (s)", True),
    ("build_chunks_per_s", "build throughput (chunks/s)", False),
    ("noop_s", "no-op rebuild (s)", True),
    ("peak_rss_mb_cli_ask", "peak RSS, CLI ask (MB)", True),
    ("peak_rss_mb_warm", "peak RSS, warm process (MB)", True),
    ("peak_rss_mb_build", "peak RSS, build (MB)", True),
    ("disk_mb", "index on disk (MB)", True),
)


def report(label: str, now: dict[str, Any], start: dict[str, Any] | None, previous: dict[str, Any] | None) -> None:
    """Print the figures beside the start's (this run) and the previous run's."""
    stages = [k for k in now if k.startswith("stage_ms_")]
    keys = [*(k for k, _, _ in SHOWN), *stages, "passages", "sentences", "cold_equals_warm"]
    print(f"\n{label}: {now.get('passages')} passages, {now.get('sentences')} sentences")
    print(f"{'figure':<24} {'start':>10} {'now':>10} {'now/start':>10} {'previous':>10} {'now/prev':>9}")
    for key in keys:
        if key not in now:
            continue
        cells = [now[key]]
        for other in (start, previous):
            value = (other or {}).get(key)
            cells += [value, (now[key] / value) if value else None]
        shown = [cells[1], cells[0], cells[2], cells[3], cells[4]]
        print(f"{key:<24} " + " ".join(f"{'-' if v is None else f'{v:.3g}':>10}" for v in shown))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scale", type=int, default=0, help="synthetic chunks added to the real article (0: none)")
    ap.add_argument("--server", action="store_true", help="build and ask through a real `chroma run` server")
    ap.add_argument("--questions", type=int, default=60, help="warm questions (from the gated dev set)")
    ap.add_argument("--repeats", type=int, default=3, help="cold asks and no-op rebuilds (their median is shown)")
    ap.add_argument("--start", default=START_REV, help="commit measured beside this tree ('' for none)")
    ap.add_argument("--rev", default="", help="measure this commit's tree instead of the working tree")
    ap.add_argument("--query-stages", type=int, default=0, help="only BM25 and the sentence product at N chunks")
    ap.add_argument("--no-record", action="store_true", help=f"do not update {RESULTS.name}")
    args = ap.parse_args()
    if args.query_stages:
        sys.path.insert(0, str(ROOT))
        return query_stages(args.query_stages, args.questions)
    label = ("real" if not args.scale else f"scale-{args.scale}") + ("-server" if args.server else "")
    rev = args.rev or "HEAD"
    commit = subprocess.run(["git", "rev-parse", "--short", rev], cwd=ROOT, capture_output=True, text=True).stdout
    temps: list[Path] = []
    server = proc = None
    try:
        if args.server:
            proc, server, store = start_server()
            temps.append(store)
        data = Path(tempfile.mkdtemp(prefix="csto-bench-"))
        temps.append(data)
        if args.scale:
            synthesize(data, args.scale)
        start = None
        if args.start and not args.scale and not args.server:  # the same figures of the start commit, this run
            src, start_data = start_tree(args.start), Path(tempfile.mkdtemp(prefix="csto-bench-start-"))
            temps += [src, start_data]
            start = measure(src, start_data, args, None)
        tree = ROOT
        if args.rev:
            tree = start_tree(commit.strip())
            temps.append(tree)
        now = measure(tree, data, args, server)
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(30)
        for t in temps:
            shutil.rmtree(t, ignore_errors=True)
    results = json.loads(RESULTS.read_text(encoding="utf-8")) if RESULTS.is_file() else {}
    previous = results.get(label, {}).get("now")
    report(label, now, start, previous)
    if not args.no_record:
        entry: dict[str, Any] = {"measured_at": time.strftime("%Y-%m-%d %H:%M"), "commit": commit.strip()}
        entry.update({"cores": os.cpu_count(), "questions": args.questions, "now": now})
        if start:
            entry.update({"start_rev": args.start, "start": start})
        results[label] = entry
        RESULTS.write_text(json.dumps(results, indent=1, sort_keys=True) + "\n", encoding="utf-8")
        print(f"recorded in {RESULTS.relative_to(ROOT)}; `python scripts/bench_readme.py` updates the README")


if __name__ == "__main__":
    main()
