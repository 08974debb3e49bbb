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
for set in heldout heldout2 heldout3 heldout4 heldout5 heldout6 heldout7 heldout8 heldout9 heldout10 heldout11 heldout12 heldout13 heldout14 heldout15 heldout16 heldout17 heldout18 heldout19 heldout20 heldout21 heldout22 heldout23 heldout24 heldout25 heldout26 heldout27 heldout28 paraphrase; do  # reported, not gated
  csto-qa eval --dataset "eval/$set.jsonl" --out "artifacts/eval-$set" --no-baseline
done
