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
csto-qa eval --out artifacts/eval --check                                    # the gated set
csto-qa eval --dataset eval/heldout.jsonl --out artifacts/eval-heldout --no-baseline     # reported, not gated
csto-qa eval --dataset eval/heldout2.jsonl --out artifacts/eval-heldout2 --no-baseline   # reported, not gated
