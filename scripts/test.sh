#!/usr/bin/env bash
# README command 2: set up everything the tests need, lint and type-check, run every test, then the eval gate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
. .venv/bin/activate
ruff check index rag ui eval tests scripts
mypy
python -m pytest -p no:cacheprovider -q -rfEs tests
export CSTO_QA_DATA_DIR="$(mktemp -d)"
csto-qa index --quiet
csto-qa eval --out artifacts/eval --check --no-baseline                       # the gate, on the gated dev set
csto-qa eval --all --out artifacts/eval-all                                  # every set: one table (dev and blind)
python -m eval.readme --check artifacts/eval-all/combined.json || echo "note: the README's results differ from this run (artifacts/eval-all/combined.md)"
