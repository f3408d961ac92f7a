#!/usr/bin/env bash
# Runs Easel locally from a fresh clone. Usage:
#   deployment/run-local.sh                          the worker with its HTTP API on the local stack
#                                                    (Kafka + S3 without Docker); Ctrl-C stops everything
#   deployment/run-local.sh --generate-only "prompt" the engine alone: one image into $EASEL_OUT
# Both build Easel first. The model is Easel's own demo model (src/demo-model: a tiny latent
# diffusion model trained on a synthetic world of colored shapes; 64x64 pictures), served as "demo".
# Environment: EASEL_MODEL (another bundle directory, served as "local"; one without model_index.json
#              gets a random SD-shaped bundle written into it), EASEL_MODEL_NAME (the name jobs use),
#              EASEL_SIZE (width = height; default 64 for the demo model, else 256),
#              EASEL_OUT (output directory of --generate-only, default: out), EASEL_STEPS (default: 30),
#              EASEL_HTTP_PORT (default: 8080).
#              EASEL_LOG_JSON (true: JSON log lines as in production; default: false, text for a terminal).
set -euo pipefail
# Paths the caller gives are the caller's: made absolute before moving to the repository root.
absolute() { case "$1" in /*) printf %s "$1" ;; *) printf %s "$PWD/$1" ;; esac; }
[ -n "${EASEL_MODEL:-}" ] && EASEL_MODEL="$(absolute "$EASEL_MODEL")"
[ -n "${EASEL_OUT:-}" ] && EASEL_OUT="$(absolute "$EASEL_OUT")"
cd "$(dirname "$0")/.."

if [ -n "${EASEL_MODEL:-}" ]; then
  model="$EASEL_MODEL"; name="${EASEL_MODEL_NAME:-local}"; size="${EASEL_SIZE:-256}"
else
  model=src/demo-model/bundle; name="${EASEL_MODEL_NAME:-demo}"; size="${EASEL_SIZE:-64}"
fi
steps="${EASEL_STEPS:-30}"

echo "==> building Easel"
./mvnw -q -B -ntp package -DskipTests
if [ ! -f "$model/model_index.json" ]; then
  echo "==> writing a random SD-shaped model bundle to $model (no pretrained weights can be downloaded here)"
  ./mvnw -q -B -ntp test-compile exec:java@make-bundle -Dexec.args="--out $model"
fi

# Start-up aids, made once and reused (docs/benchmarks.md, "Starting fast"): ONNX Runtime's native
# libraries unpacked here instead of into /tmp at every start, and a class-data-sharing archive of
# the classes a run loads, written by the first run of each command (-XX:ArchiveClassesAtExit) and
# mapped by the next ones (a JDK that cannot use an archive runs without), and ONNX Runtime's
# optimized graphs (target/onnx-cache), so later starts skip graph optimization.
native=target/onnxruntime-native
if [ ! -f "$native/libonnxruntime.so" ]; then
  mkdir -p "$native"
  unzip -q -j -o target/quarkus-app/lib/main/com.microsoft.onnxruntime.onnxruntime*.jar \
    'ai/onnxruntime/native/linux-x64/*' -d "$native"
fi
# JDK 25 and later: an AOT cache instead (JEP 483/514/515: classes loaded and linked ahead, and the
# training run's method profiles), measured faster to start and to its first job than the CDS
# archive (docs/benchmarks.md, "Scale from zero").
java_major=$(java -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = \([0-9]*\).*/\1/p')
fresh() { # $1: an archive or cache; true when it exists and no jar was rebuilt after it
  [ -f "$1" ] && [ -z "$(find target/quarkus-app -name '*.jar' -newer "$1" -print -quit)" ]
}
jvm_opts() { # $1: the command, so each has the archive of its own classes
  # A rebuilt jar makes an archive stale: write a new one.
  if [ "${java_major:-0}" -ge 25 ]; then
    local cache="target/aot-$1.aot"
    if fresh "$cache"; then echo "-XX:AOTCache=$cache"; else rm -f "$cache"; echo "-XX:AOTCacheOutput=$cache"; fi
  else
    local archive="target/cds-$1.jsa" quiet="-Xlog:cds=off -Xlog:cds+dynamic=off"
    if fresh "$archive"; then
      echo "-XX:SharedArchiveFile=$archive -Xshare:auto $quiet"
    else
      rm -f "$archive"; echo "-XX:ArchiveClassesAtExit=$archive $quiet"
    fi
  fi
  echo "-Donnxruntime.native.path=$(pwd)/$native"
}

if [ "${1:-}" = "--generate-only" ]; then
  prompt="${2:-a big red circle on a blue background}"
  out="${EASEL_OUT:-out}"
  echo "==> generating \"$prompt\" with $model"
  # shellcheck disable=SC2046 # the options are words
  # A one-off run: C1 alone and the serial collector start faster than the tiered, G1 defaults.
  java $(jvm_opts generate) -XX:TieredStopAtLevel=1 -XX:+UseSerialGC \
    -jar target/quarkus-app/quarkus-run.jar generate --model "$model" --prompt "$prompt" \
    --width "$size" --height "$size" --steps "$steps" --seed 42 --optimized-cache target/onnx-cache --out "$out"
  echo "==> the PNG carries its generation parameters in text chunks; try other options with:"
  echo "    java -jar target/quarkus-app/quarkus-run.jar generate --help"
  exit 0
fi

port="${EASEL_HTTP_PORT:-8080}"
# A port in use would only show as Quarkus' error after everything else has started.
if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
  echo "port $port is in use: stop what listens there, or set EASEL_HTTP_PORT to a free port" >&2
  exit 1
fi
stack_log=target/run-local-stack.log
pids=()
stop() {
  trap - INT TERM EXIT
  echo "==> stopping"
  # The stack's JVM stops Kafka and S3Proxy from its shutdown hook on SIGTERM.
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

echo "==> starting the local stack (Kafka, S3Proxy); log: $stack_log"
: >"$stack_log" # exists before the wait loop below reads it
./mvnw -q -B -ntp test-compile exec:java@stack >"$stack_log" 2>&1 &
pids+=($!)
for _ in $(seq 1 180); do
  grep -q '^export EASEL_S3_CREATE_BUCKET' "$stack_log" && break
  kill -0 "${pids[0]}" 2>/dev/null || { echo "the local stack did not start:"; tail -20 "$stack_log"; exit 1; }
  sleep 1
done
grep -q '^export EASEL_S3_CREATE_BUCKET' "$stack_log" || { echo "the local stack did not start in 180 s"; exit 1; }
eval "$(grep '^export ' "$stack_log")"

# Webhooks are signed; a production worker refuses to start without a secret. Locally, make one up.
export EASEL_WEBHOOKS_SIGNING_SECRET="${EASEL_WEBHOOKS_SIGNING_SECRET:-whsec_$(head -c 32 /dev/urandom | base64)}"
echo "==> webhook signing secret (to verify deliveries): $EASEL_WEBHOOKS_SIGNING_SECRET"
# Every job endpoint needs a credential (docs/security.md). Locally: one tenant, "default", with a made-up key.
api_key="${EASEL_API_KEY:-easel_$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')}"
export EASEL_TENANTS_DEFAULT_API_KEYS="local:$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)"
echo "==> API key of tenant \"default\" (send it as X-API-Key): $api_key"
echo "==> starting the worker on http://localhost:$port with model \"$name\" ($model)"
# C1 alone: 0.8 s sooner ready and its first jobs faster, for ~3 ms more per job in the Java stages,
# which a model's seconds dwarf on CPU (docs/benchmarks.md, "Scale from zero"; k8s/cpu does the same).
# shellcheck disable=SC2046 # the options are words
java $(jvm_opts serve) -XX:TieredStopAtLevel=1 -Deasel.onnx.optimized-cache="$(pwd)/target/onnx-cache" \
  -Deasel.models."$name".path="$(cd "$model" && pwd)" -Deasel.s3.create-bucket=true \
  -Dquarkus.http.port="$port" \
  -Dmp.messaging.incoming.jobs.group.instance.id="easel-local-$(hostname)" \
  -Deasel.log.json="${EASEL_LOG_JSON:-false}" -jar target/quarkus-app/quarkus-run.jar serve &
pids+=($!)

# The usage below once the worker answers: until then a curl would only be refused.
for _ in $(seq 1 300); do
  kill -0 "${pids[1]}" 2>/dev/null || { echo "the worker stopped before it was ready (its log is above)" >&2; exit 1; }
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  sleep 1
done
echo "==> the worker is up (readiness, once the model is loaded: curl -s localhost:$port/q/health/ready)"

cat <<USAGE
==> job console in a browser: http://localhost:$port/ (enter the API key above; README.md, "Job console")
==> or submit a job, then poll its statusUrl until "completed"; images land in bucket ${EASEL_S3_BUCKET:-easel-images}
    (target/devstack-run/s3proxy/data/${EASEL_S3_BUCKET:-easel-images}/default/{id}/0.png) and the answer carries presigned URLs:
    curl -s -XPOST localhost:$port/v1/jobs -H 'Content-Type: application/json' -H "X-API-Key: $api_key" \\
      -d '{"version": 1, "model": "$name", "prompt": "a big red circle on a blue background", "width": $size, "height": $size, "steps": $steps}'
    curl -s -H "X-API-Key: $api_key" localhost:$port/v1/jobs/{id}
    Health and metrics: curl -s localhost:$port/q/health/ready; curl -s localhost:$port/q/metrics
    Ctrl-C stops the worker, Kafka and S3Proxy.
USAGE
wait "${pids[1]}"
