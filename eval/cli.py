"""The eval's entry point for `csto-qa eval` (loaded by ui/cli.py only when that command runs)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable

from index.errors import CstoQaError
from index.settings import Settings


def run_eval(settings: Settings, args: argparse.Namespace) -> int:
    """One set (`--dataset`, default the gated set) with its gate, or `--all` sets in one table."""
    if args.all:
        from eval.combined import run_all_cli

        return run_all_cli(settings, args.out, baseline=not args.no_baseline)
    from eval.runner import run_cli

    return run_cli(
        settings,
        dataset=args.dataset,
        out=args.out,
        generator=args.generator,
        check=args.check,
        thresholds=args.thresholds,
        baseline=not args.no_baseline,
    )


def one_line_errors(main: Callable[[], int], name: str) -> int:
    """Run a `python -m eval.<name>` script: a CstoQaError (no index, a bad setting) is one line on stderr and exit
    code 1, not a traceback."""
    try:
        return main()
    except CstoQaError as exc:
        print(f"{name}: {exc}", file=sys.stderr)
        return 1
