"""The `csto-qa` command: a thin layer over the library. Errors become one line on stderr and a non-zero exit.

Exit codes: 0 done; 1 the index, the store or a build needs attention (IndexNotFoundError, IndexCorruptError,
StoreUnavailableError, BuildError, ModelNotFoundError, the page's port in use); 2 the input or the settings need
fixing (SettingsError, InvalidQuestionError, UsageError); 130 interrupted. Anything else is a bug: "unexpected ...".
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from index.settings import Settings, SettingsError, load_settings
from rag.errors import CstoQaError, InvalidQuestionError, PortInUseError, UsageError  # (offline switches first)

EXIT_USAGE = 2
EXIT_ERROR = 1
USAGE_ERRORS = (SettingsError, InvalidQuestionError, UsageError)  # fix the command or the settings: exit 2


def _err(message: str) -> None:
    print(f"csto-qa: error: {message}", file=sys.stderr)


def cmd_index(settings: Settings, args: argparse.Namespace) -> int:
    """Build or update the index."""
    from rag.library import build

    report = build(
        settings,
        force=args.force,
        progress=not args.quiet,
        on_step=None if args.quiet else lambda m: print(f"· {m}", file=sys.stderr),
    )
    for w in report.warnings:
        print(f"warning: {w}", file=sys.stderr)
    if report.changed:
        print(
            f"indexed {report.passages} passages into {report.collection} "
            f"({report.embedded} embedded, {report.reused} reused, {report.removed} removed) in {report.seconds:.1f} s"
        )
    else:
        print(
            f"index up to date ({report.passages} passages in {report.collection}); nothing to do "
            f"[{report.seconds:.2f} s]"
        )
    return 0


def cmd_ask(settings: Settings, args: argparse.Namespace) -> int:
    """Answer one question."""
    from rag.api import Assistant, validate_question
    from rag.history import validate_history

    validate_question(args.question, settings.max_question_chars)  # before loading anything
    history = None
    if args.history:
        try:
            history = json.loads(args.history)
        except json.JSONDecodeError as exc:
            raise UsageError(f"--history is not valid JSON ({exc.msg}); give a list of role/content turns") from None
        validate_history(history, settings.max_history_turns, settings.max_history_chars)
    answer = Assistant.from_settings(settings).ask(args.question, history=history, generator=args.generator)
    if args.json:
        print(json.dumps(answer.json_dict(), ensure_ascii=False))
        return 0
    print(answer.text)
    if answer.notice:
        print(f"\nNote: {answer.notice}")
    if answer.refused:
        print("\nClosest passages:")
        for sp in answer.closest[:3]:
            print(f"  · {sp.passage.location}: {sp.passage.text[:200]}…")
        return 0
    print()
    for c in answer.citations:
        print(f"[{c.n}] {c.location}")
        for s in c.sources:
            print(f"     cites {s.display()}")
    return 0


def cmd_sources(settings: Settings, args: argparse.Namespace) -> int:
    """List the bibliography (with citing passages), or fetch the cited works."""
    if args.action == "fetch":
        from rag.library import fetch_cited_works

        results, report = fetch_cited_works(settings, only=set(args.only) if args.only else None, force=args.force)
        print(report)
        print("run `csto-qa index` to index what was fetched")
        return 1 if any(r.status == "error" for r in results) and not any(r.status == "ok" for r in results) else 0
    from rag.api import Assistant

    views = Assistant.from_settings(settings).sources()
    never = []
    for v in views:
        e = v.entry
        full = " [full text indexed]" if v.fulltext_indexed else ""
        print(f"{e.key:16} {e.label} — {e.reference()}{full}")
        if args.citations:
            if not v.citing:
                never.append(e.label)
            for c in v.citing:
                pages = f" p. {c.pages}" if c.pages else ""
                print(f"    {c.location}{pages}: {c.sentence[:110]}{'…' if len(c.sentence) > 110 else ''}")
    if args.citations:
        print(f"\nNever cited in the text: {', '.join(never) if never else 'none'}")
    return 0


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    """Start the chat page (building the index first when it is missing)."""
    from rag.library import build, is_built

    if args.host:
        settings = settings.model_copy(update={"server_host": args.host})
    if args.port is not None:
        if not 1 <= args.port <= 65535:
            raise UsageError(f"--port {args.port} is not a port number (1-65535)")
        settings = settings.model_copy(update={"server_port": args.port})
    _check_port(settings.server_host, settings.server_port)  # before building or loading anything
    if not is_built(settings):
        print("· no index yet: building it", file=sys.stderr)
        build(settings)
    from ui.app import launch

    launch(settings)
    return 0


def _check_port(host: str, port: int) -> None:
    """PortInUseError with one line when the page's address cannot be bound (UsageError for an unknown host)."""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise UsageError(f"cannot serve on host {host!r} ({exc.strerror or exc}); pass --host 127.0.0.1") from None
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            raise PortInUseError(
                f"cannot serve on {host}:{port} ({exc.strerror or exc}); stop what uses it or pass --port"
            ) from None


def cmd_eval(settings: Settings, args: argparse.Namespace) -> int:
    """Run the fidelity eval (one set, or with --all every set of eval/sets.toml)."""
    from eval.cli import run_eval

    return run_eval(settings, args)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser."""
    p = argparse.ArgumentParser(prog="csto-qa", description="Cited answers about Lacroix (2020) on the CSTO, offline.")
    p.add_argument("--data-dir", help="index directory (CSTO_QA_DATA_DIR)")
    p.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = p.add_subparsers(dest="command", required=True)
    i = sub.add_parser("index", help="build or update the index")
    i.add_argument("--force", action="store_true", help="rebuild even when nothing changed")
    i.add_argument("--quiet", action="store_true", help="no progress output")
    a = sub.add_parser("ask", help="answer a question")
    a.add_argument("question")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.add_argument("--history", help='earlier turns as JSON: [{"role": "user", "content": "..."}, ...]')
    a.add_argument("--generator", choices=["extractive", "llm"], help="override CSTO_QA_GENERATOR")
    s = sub.add_parser("sources", help="list the bibliography, or fetch cited works (online)")
    s.add_argument("action", nargs="?", choices=["list", "fetch"], default="list")
    s.add_argument("--citations", action="store_true", help="show every citing passage with its pages")
    s.add_argument("--only", nargs="*", help="fetch only these keys")
    s.add_argument("--force", action="store_true", help="fetch again even when cached")
    v = sub.add_parser("serve", help="start the chat page")
    v.add_argument("--host")
    v.add_argument("--port", type=int)
    e = sub.add_parser("eval", help="run the fidelity eval")
    e.add_argument("--dataset", default=None, help="JSONL dataset (default: the shipped eval set)")
    e.add_argument("--out", default="artifacts/eval", help="output folder")
    e.add_argument("--generator", choices=["extractive", "llm"], default="extractive")
    e.add_argument("--check", action="store_true", help="exit non-zero when a metric is under its threshold")
    e.add_argument("--thresholds", default=None, help="thresholds TOML (default: eval/thresholds.toml)")
    e.add_argument("--no-baseline", action="store_true", help="skip the naive llama-index baseline")
    e.add_argument("--all", action="store_true", help="every set of eval/sets.toml, one combined table")
    return p


COMMANDS = {"index": cmd_index, "ask": cmd_ask, "sources": cmd_sources, "serve": cmd_serve, "eval": cmd_eval}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings(**({"data_dir": args.data_dir} if args.data_dir else {}))
        return COMMANDS[args.command](settings, args)
    except (CstoQaError, SettingsError) as exc:
        _err(str(exc))
        return EXIT_USAGE if isinstance(exc, USAGE_ERRORS) else EXIT_ERROR
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except Exception as exc:
        if args.debug:
            raise
        _err(f"unexpected {type(exc).__name__}: {exc} (run with --debug for details)")
        return EXIT_ERROR


if __name__ == "__main__":
    sys.exit(main())
