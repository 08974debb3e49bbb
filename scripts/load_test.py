"""Bounded load test of the chat page on loopback: N concurrent sessions x M questions via gradio_client.

    .venv/bin/python scripts/load_test.py                      # serve the page in-process (index from CSTO_QA_*)
    .venv/bin/python scripts/load_test.py --data-dir /tmp/idx  # ... from that index (built first when missing)
    .venv/bin/python scripts/load_test.py --url http://127.0.0.1:7860/

Prints the error count and p50/p95 latency per question; exits 1 on any error or when the total timeout runs out.
"""

from __future__ import annotations

import argparse
import socket
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from index import offline  # noqa: E402,F401  - offline switches before any heavy import

# (question, expected): "cited" wants an [n] anchor in the reply, "refused" wants "Not in the sources"
QUESTIONS = [
    ("When was the CSTO established?", "cited"),
    ("Who says there is no real solidarity in the CSTO?", "cited"),
    ("What is Operation Kanal?", "cited"),
    ("And who observes it?", "cited"),
    ("What did the CSTO do in Kazakhstan in January 2022?", "refused"),
]


@dataclass
class Results:
    """Latencies and errors collected from every session thread."""

    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, seconds: float) -> None:
        with self.lock:
            self.latencies.append(seconds)

    def fail(self, message: str) -> None:
        with self.lock:
            self.errors.append(message)


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), round(q / 100 * len(ordered) + 0.5)))
    return ordered[rank - 1]


def reply_text(messages: list[dict]) -> str:
    """The text of the last assistant message of a Chatbot value."""
    last = messages[-1] if messages else {}
    content = last.get("content")
    if isinstance(content, list):
        return " ".join(part.get("text", "") for part in content if isinstance(part, dict))
    return str(content or "")


def session(url: str, n_questions: int, deadline: float, results: Results, sid: int) -> None:
    """One user: a client (its own session, so follow-ups see the history) asking the questions in order."""
    from gradio_client import Client

    try:
        client = Client(url, verbose=False)
    except Exception as exc:  # one line per failure, never a traceback
        results.fail(f"session {sid}: connect failed: {type(exc).__name__}: {exc}")
        return
    for question, expected in QUESTIONS[:n_questions]:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            results.fail(f"session {sid}: out of time before {question!r}")
            return
        t0 = time.perf_counter()
        try:
            messages, _panel, _box = client.submit(question, "extractive", 5, api_name="/chat").result(
                timeout=remaining)
        except Exception as exc:
            results.fail(f"session {sid}: {question!r}: {type(exc).__name__}: {str(exc)[:120]}")
            continue
        elapsed = time.perf_counter() - t0
        text = reply_text(messages)
        good = "cite-ref" in text if expected == "cited" else "Not in the sources" in text
        if good:
            results.ok(elapsed)
        else:
            results.fail(f"session {sid}: {question!r}: unexpected reply {text[:120]!r}")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(data_dir: str | None) -> tuple[str, object]:
    """Serve the page in-process on a free loopback port; return (url, app)."""
    from index.settings import load_settings
    from index.store import build_index, is_built
    from ui.app import launch

    overrides = {"data_dir": data_dir} if data_dir else {}
    settings = load_settings(**overrides, server_host="127.0.0.1", server_port=free_port())
    if not is_built(settings):
        print("· no index yet: building it", file=sys.stderr)
        build_index(settings, progress=False)
    app = launch(settings, prevent_thread_lock=True)
    return f"http://127.0.0.1:{settings.server_port}/", app


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", help="test a running page instead of serving one in-process")
    parser.add_argument("--data-dir", help="index folder for the in-process page (default: CSTO_QA_DATA_DIR)")
    parser.add_argument("--sessions", type=int, default=20, help="concurrent sessions (default 20)")
    parser.add_argument("--questions", type=int, default=5, choices=range(1, len(QUESTIONS) + 1),
                        help="questions per session (default 5)")
    parser.add_argument("--timeout", type=float, default=300.0, help="total time budget, seconds (default 300)")
    args = parser.parse_args(argv)

    app = None
    url = args.url
    if not url:
        from index.errors import CstoQaError

        try:
            url, app = serve(args.data_dir)
        except CstoQaError as exc:
            print(f"load_test: error: {exc}", file=sys.stderr)
            return 2
    results = Results()
    expected = args.sessions * args.questions
    print(f"load test: {args.sessions} sessions x {args.questions} questions against {url} "
          f"(budget {args.timeout:.0f} s)")
    t0 = time.monotonic()
    deadline = t0 + args.timeout
    pool = ThreadPoolExecutor(max_workers=args.sessions)
    try:
        futures = [pool.submit(session, url, args.questions, deadline, results, i) for i in range(args.sessions)]
        _done, pending = wait(futures, timeout=args.timeout + 5)
        wall = time.monotonic() - t0
        missing = expected - len(results.latencies) - len(results.errors)
        if pending or missing > 0:
            results.fail(f"{max(missing, 0)} question(s) unanswered when the {args.timeout:.0f} s budget ran out")
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
        if app is not None:
            app.close()  # type: ignore[attr-defined]

    lat = results.latencies
    print(f"answered {len(lat)}/{expected} in {wall:.1f} s ({len(lat) / wall:.1f} answers/s)")
    print(f"errors {len(results.errors)}")
    print(f"latency p50 {percentile(lat, 50) * 1000:.0f} ms, p95 {percentile(lat, 95) * 1000:.0f} ms, "
          f"max {max(lat, default=float('nan')) * 1000:.0f} ms")
    for err in results.errors[:10]:
        print(f"  error: {err}")
    return 1 if results.errors else 0


if __name__ == "__main__":
    sys.exit(main())
