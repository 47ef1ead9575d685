#!/usr/bin/env bash
# Set up (or reuse) .venv with the project and its dev tools, then lint, check content and run all tests.
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -e '.[dev]'
sha256sum pyproject.toml | cut -d' ' -f1 >.venv/.installed-from  # scripts/run.sh need not install again
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/acasa kb check > /dev/null || .venv/bin/acasa kb check
# Tests run on every core (pytest-xdist); tests sharing the PostgreSQL database run on one of them.
.venv/bin/python -m pytest -n auto --dist loadgroup "$@"
