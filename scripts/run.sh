#!/usr/bin/env bash
# Set up (or reuse) .venv and start the bot in the terminal (or, with --serve, the web service).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e .
if [ "${1:-}" = "--serve" ]; then
  shift
  exec .venv/bin/acasa serve "$@"
fi
exec .venv/bin/acasa chat "$@"
