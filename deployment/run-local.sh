#!/usr/bin/env bash
# Runs Easel locally from a fresh clone: builds it, writes a model bundle if there is none yet,
# and generates an image with the engine. Usage: deployment/run-local.sh ["prompt"]
# Environment: EASEL_MODEL (bundle directory, default: a generated random SD-shaped bundle),
#              EASEL_OUT (output directory, default: out), EASEL_STEPS (default: 20).
set -euo pipefail
cd "$(dirname "$0")/.."

prompt="${1:-a big red circle on a blue background}"
model="${EASEL_MODEL:-target/bundles/random-sd}"
out="${EASEL_OUT:-out}"

echo "==> building Easel"
./mvnw -q -B -ntp package -DskipTests
if [ ! -f "$model/model_index.json" ]; then
  echo "==> writing a random SD-shaped model bundle to $model (no pretrained weights can be downloaded here)"
  ./mvnw -q -B -ntp test-compile exec:java@make-bundle -Dexec.args="--out $model"
fi
echo "==> generating \"$prompt\" with $model"
java -jar target/quarkus-app/quarkus-run.jar generate --model "$model" --prompt "$prompt" \
  --steps "${EASEL_STEPS:-20}" --seed 42 --out "$out"
echo "==> the PNG carries its generation parameters in text chunks; try other options with:"
echo "    java -jar target/quarkus-app/quarkus-run.jar generate --help"
