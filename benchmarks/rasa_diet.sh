#!/usr/bin/env bash
# Rasa DIET, trained on the same examples as the built-in matcher, measured on the same sets.
#
#   RASA_PYTHON=python3.10 bash benchmarks/rasa_diet.sh [SET ...]
#
# Rasa 3.6 runs on Python 3.8-3.10 only, so it gets a virtual environment of its own (in
# RASA_WORK, default a new temporary folder; reused when it already holds one). It is trained on
# `acasa nlu export-rasa` with benchmarks/rasa/config.yml (33 minutes on two otherwise idle cores;
# again only when the exported examples or the config changed), served on
# 127.0.0.1:${RASA_PORT:-5005}, and `acasa nlu eval` is run twice per set: RASA_MODE=replace
# (Rasa's ranking decides; the built-in matcher still names near-domain topics and the emergency
# recogniser is the bot's own) and RASA_MODE=combine (the two rankings averaged). Default sets:
# the realistic development and held-out sets and the two older question sets.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
acasa=${ACASA:-$root/.venv/bin/acasa}
work=${RASA_WORK:-$(mktemp -d)}
port=${RASA_PORT:-5005}
sets=("$@")
if [ ${#sets[@]} -eq 0 ]; then
  sets=(tests/nlu/realistic/dev tests/nlu/realistic/dev2 tests/nlu/realistic/holdout
        tests/nlu/dev_questions.jsonl tests/nlu/holdout_questions.jsonl)
fi

if [ ! -x "$work/venv/bin/rasa" ]; then
  "${RASA_PYTHON:?set RASA_PYTHON to a Python 3.8-3.10}" -m venv "$work/venv"
  "$work/venv/bin/pip" install -q 'rasa==3.6.21'
fi
mkdir -p "$work/data"
"$acasa" nlu export-rasa -o "$work/data/nlu.yml"
cp benchmarks/rasa/config.yml "$work/config.yml"
cat "$work/data/nlu.yml" "$work/config.yml" > "$work/training-input"
if [ ! -f "$work/models/diet.tar.gz" ] || ! cmp -s "$work/training-input" "$work/trained-on"; then
  started=$SECONDS
  (cd "$work" && venv/bin/rasa train nlu --nlu data/nlu.yml --config config.yml --out models \
    --fixed-model-name diet)
  echo "training took $((SECONDS - started)) s"
  mv "$work/training-input" "$work/trained-on"
fi

(cd "$work" && exec venv/bin/rasa run --enable-api -m models/diet.tar.gz -i 127.0.0.1 -p "$port" \
  > rasa-server.log 2>&1) &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 180); do
  curl -sf "http://127.0.0.1:$port/status" > /dev/null && break
  sleep 1
done
curl -sf "http://127.0.0.1:$port/status" > /dev/null || { echo "the Rasa server did not start: $work/rasa-server.log" >&2; exit 1; }

for set in "${sets[@]}"; do
  for mode in replace combine; do
    echo "=== $set, RASA_MODE=$mode"
    RASA_URL="http://127.0.0.1:$port" RASA_MODE=$mode "$acasa" nlu eval "$set" | sed -n '/^In scope/,/^$/p;/^By language/,/^$/p'
  done
done
