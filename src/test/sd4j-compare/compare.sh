#!/usr/bin/env bash
# Load time beside oracle/sd4j (docs/benchmarks.md, "Loading beside sd4j"): the same random
# SD-shaped bundles opened by a cold JVM each, Easel and sd4j taking turns, on ONNX Runtime 1.29.
# sd4j's code is not part of Easel: it is cloned and built under target/sd4j-compare.
#
#   ./mvnw package -DskipTests && src/test/sd4j-compare/compare.sh [--sd4j GIT_URL_OR_DIR] [--rounds N]
#
# Variants per round: easel-eager (every graph, the worker's load), easel-lazy (text encoder, UNet,
# VAE decoder: the CLI's load) on the packaged app's classpath, easel-lazy-engine (the same on the
# engine's own jars: the app jar, Jackson, ONNX Runtime), and sd4j (its tokenizer graph with
# onnxruntime-extensions, text encoder, UNet, VAE decoder; session options its own: ONNX Runtime's
# thread defaults, optimization level all). Printed: median [min..max] of the environment's set-up,
# the load, both, and the whole process from the shell. Classpaths go in @argfiles: ONNX Runtime
# 1.29 crashes the JVM when the command line is longer than about 3,980 bytes.
set -euo pipefail
cd "$(dirname "$0")/../../.."
repo=$PWD
sd4j_source=https://github.com/oracle/sd4j.git
rounds=7
while [ $# -gt 0 ]; do
  case "$1" in
    --sd4j) sd4j_source=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    *) echo "usage: $0 [--sd4j GIT_URL_OR_DIR] [--rounds N]" >&2; exit 2 ;;
  esac
done
work=$repo/target/sd4j-compare
app=$repo/target/quarkus-app
[ -f "$app/quarkus-run.jar" ] || { echo "build Easel first: ./mvnw package -DskipTests" >&2; exit 1; }
mkdir -p "$work/classes/easel" "$work/classes/sd4j" "$work/bundles"

if [ ! -d "$work/sd4j" ]; then
  git clone -q "$sd4j_source" "$work/sd4j"
fi
(cd "$work/sd4j" && "$repo/mvnw" -q -B -Donnxruntime.version=1.29.0 -Dmaven.test.skip=true package \
  && "$repo/mvnw" -q -B -Donnxruntime.version=1.29.0 dependency:build-classpath -Dmdep.outputFile="$work/sd4j-deps.txt")
# sd4j registers ./libortextensions.so for its tokenizer graph's custom ops: the extensions jar's JNI
# library exports them (RegisterCustomOps).
"$repo/mvnw" -q -B dependency:copy -Dartifact=com.microsoft.onnxruntime:onnxruntime-extensions:0.13.0 \
  -DoutputDirectory="$work"
unzip -p "$work/onnxruntime-extensions-0.13.0.jar" \
  ai/onnxruntime/extensions/native/linux-x64/libonnxruntime_extensions4j_jni.so > "$work/sd4j/libortextensions.so"

app_jar=$(ls "$app"/app/*.jar)
{ ls "$app"/lib/main/*.jar; echo "$app_jar"; } > "$work/easel-cp.lines"
{ echo "$app_jar"; ls "$app"/lib/main/*jackson-core-* "$app"/lib/main/*jackson-databind-* \
    "$app"/lib/main/*jackson-annotations-* "$app"/lib/main/*onnxruntime-*; } > "$work/engine-cp.lines"
{ ls "$work"/sd4j/target/sd4j-*.jar | grep -v -e sources -e javadoc; tr ':' '\n' < "$work/sd4j-deps.txt" \
    | grep -v -e junit -e opentest4j -e apiguardian -e tribuo -e protobuf; } > "$work/sd4j-cp.lines"
for v in easel engine sd4j; do
  classes=$work/classes/$([ $v = sd4j ] && echo sd4j || echo easel)
  printf -- '-cp\n%s\n' "$classes:$(paste -sd: "$work/$v-cp.lines")" > "$work/$v.args"
  printf -- '-cp\n%s\n' "$(paste -sd: "$work/$v-cp.lines")" > "$work/$v-javac.args"
done
javac @"$work/easel-javac.args" -d "$work/classes/easel" src/test/sd4j-compare/EaselLoad.java
javac @"$work/sd4j-javac.args" -d "$work/classes/sd4j" src/test/sd4j-compare/Sd4jLoad.java

# The bundles: Easel's random SD-shaped generator, a small one and one with SD 1.5's layout at
# reduced widths (UNet 0.4×, text 512 wide with 12 layers, VAE 0.5×; about 750 MB).
if [ ! -f "$work/bundles/small/model_index.json" ]; then
  ./mvnw -q -B test-compile exec:java@make-bundle -Dexec.args="--out $work/bundles/small"
fi
if [ ! -f "$work/bundles/wide/model_index.json" ]; then
  ./mvnw -q -B test-compile exec:java@make-bundle -Dexec.args="--out $work/bundles/wide --unet-widths 128,256,512,512 \
    --unet-attention true,true,true,false --layers 2 --heads 8 --hidden 512 --text-layers 12 --text-heads 8 \
    --vae-widths 64,128,256,256 --groups 32"
fi

run_one() { # bundle variant: one cold JVM, its "env_ms=… load_ms=… total_ms=…" line
  case $2 in
    easel-eager) (cd "$work" && java @"$work/easel.args" EaselLoad "$1" eager) ;;
    easel-lazy) (cd "$work" && java @"$work/easel.args" EaselLoad "$1" lazy) ;;
    easel-lazy-engine) (cd "$work" && java @"$work/engine.args" EaselLoad "$1" lazy) ;;
    sd4j) (cd "$work/sd4j" && java @"$work/sd4j.args" Sd4jLoad "$1") ;; # its tokenizer paths are relative
  esac
}

variants=(easel-eager easel-lazy easel-lazy-engine sd4j)
results=$work/results-$(date +%Y%m%d-%H%M%S).tsv
printf 'bundle\tvariant\tround\tenv_ms\tload_ms\ttotal_ms\twall_ms\n' > "$results"
for name in small wide; do
  dir=$work/bundles/$name
  cat "$dir"/*/*.onnx "$work"/sd4j/text_tokenizer/*.onnx > /dev/null # the same page cache for everyone
  for ((r = 1; r <= rounds; r++)); do
    for v in "${variants[@]}"; do
      t0=$(date +%s%N)
      line=$(run_one "$dir" "$v" 2>>"$work/stderr.log" | grep -m1 '^env_ms=')
      t1=$(date +%s%N)
      read -r env load total <<< "$(sed -E 's/[a-z_]+=//g' <<< "$line")"
      printf '%s\t%s\t%d\t%s\t%s\t%s\t%d\n' "$name" "$v" "$r" "$env" "$load" "$total" $(((t1 - t0) / 1000000)) \
        | tee -a "$results"
    done
  done
done
echo
echo "medians [min..max] ms over $rounds rounds; raw rows: $results"
printf '%-6s %-18s %22s %22s %22s %22s\n' bundle variant env load total "whole process"
for name in small wide; do
  for v in "${variants[@]}"; do
    row=$(printf '%-6s %-18s' "$name" "$v")
    for col in 4 5 6 7; do
      row+=$(awk -F'\t' -v b="$name" -v v="$v" -v c=$col 'NR > 1 && $1 == b && $2 == v {print $c}' "$results" \
        | sort -g | awk '{a[NR] = $1} END {m = NR % 2 ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2;
          printf " %22s", sprintf("%.0f [%.0f..%.0f]", m, a[1], a[NR])}')
    done
    echo "$row"
  done
done
