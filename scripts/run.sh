#!/usr/bin/env bash
# README command 1: set up, build the index if missing, and start the chat page on http://127.0.0.1:7860
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
.venv/bin/csto-qa index
.venv/bin/csto-qa ask "When was the CSTO established?"
exec .venv/bin/csto-qa serve
