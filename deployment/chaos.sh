#!/usr/bin/env bash
# Chaos: faults against the real local stack (Kafka KRaft + S3Proxy on 127.0.0.1, no Docker) and the
# packaged worker (java -jar target/quarkus-app/quarkus-run.jar serve), and a report. Usage:
#   deployment/chaos.sh [--quick] [--skip-build] [--scenarios kill,broker,brokerkill,coldstart,storage,coldstorage,fuzz,concurrency,twins]
#                       [--seed N] [--work-dir DIR] [--worker-config KEY=VALUE]... [--help]
#   --quick       one of each scenario at a small scale, a few minutes (what ChaosIT runs in ./mvnw verify);
#                 without it the full run: 200 jobs through 10 kill -9s, Kafka stopped 60 s, S3Proxy
#                 killed for 30 s, fuzzed and oversized records, concurrent pulled and pushed jobs (15-25 min)
#   --skip-build  use the worker already in target/quarkus-app (also: EASEL_CHAOS_SKIP_BUILD=1)
# Everything goes under target/chaos-<timestamp>/ (the stack's and every worker incarnation's logs).
# One line per scenario, then, last: "chaos: sent N, completed N, failed N, lost N, duplicate results N,
# wrongly failed N". Exit status 0 when no job was lost, had two different results or failed wrongly;
# 1 when one did; 2 when a scenario could not be carried out. See docs/reliability.md, "Chaos".
set -euo pipefail
cd "$(dirname "$0")/.."

build=true
[ "${EASEL_CHAOS_SKIP_BUILD:-}" = 1 ] && build=false
args=()
for arg in "$@"; do
  case "$arg" in
    --skip-build) build=false ;;
    *) args+=("$arg") ;;
  esac
done

if $build; then
  echo "==> building Easel (the packaged worker and the test classes)"
  ./mvnw -q -B -ntp package -DskipTests -DskipNativeCheck
fi
exec ./mvnw -q -B -ntp test-compile exec:java@chaos -Dexec.args="${args[*]:-}"
