#!/usr/bin/env bash
# Start the bot in the terminal (or, with --serve, the web service). The first run creates .venv and
# installs the project; later runs install again only when pyproject.toml has changed.
set -euo pipefail
cd "$(dirname "$0")/.."
stamp=.venv/.installed-from
wanted="$(sha256sum pyproject.toml | cut -d' ' -f1)"
if [ ! -x .venv/bin/acasa ] || [ "$(cat "$stamp" 2>/dev/null)" != "$wanted" ]; then
  echo "Installing Acasă into .venv (about a minute, once)..." >&2
  log="$(mktemp)"
  if ! { python3 -m venv .venv && .venv/bin/python -m pip install --quiet --upgrade pip \
      && .venv/bin/python -m pip install --quiet -e .; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    exit 1
  fi
  rm -f "$log"
  echo "$wanted" >"$stamp"
fi
if [ "${1:-}" = "--serve" ]; then
  shift
  exec .venv/bin/acasa serve "$@"
fi
exec .venv/bin/acasa chat "$@"
