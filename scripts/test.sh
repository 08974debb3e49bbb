#!/usr/bin/env bash
# README command 2: set up everything the tests need, lint, run every test, then the eval gate.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
. .venv/bin/activate
ruff check index rag ui eval tests scripts
python -m pytest -p no:cacheprovider -q -rfEs tests
CSTO_QA_DATA_DIR="$(mktemp -d)" bash -c 'csto-qa index --quiet && csto-qa eval --out artifacts/eval --check'
