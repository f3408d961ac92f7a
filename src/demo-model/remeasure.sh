#!/usr/bin/env bash
# Re-measures what the docs quote from the demo model: what a new UNet (or any change to the bundle)
# owes before it is committed. Run from the repository root after the bundle has changed:
#
#   src/demo-model/remeasure.sh [OUT]        # OUT: where the evaluations' tables go (default target/remeasure)
#
# It writes the tables to OUT (one file per evaluation, the commands in OUT/commands.txt) and redraws
# docs/images/demo-grid.png and docs/images/rewrite-red-blue.png; it retrains the pink LoRA on the new
# UNet into src/demo-model/loras/pink.safetensors (src/demo-model/README.md, "A LoRA that teaches pink").
# The figures themselves are copied into the model card, README.md and docs/rewriting.md by hand: each
# table there names the command that made it. Last, README's console screenshot (docs/images/console.png)
# is taken again: deployment/run-local.sh on port 18080 with a made-up key, and the browser test
# (src/test/browser, as .ci/run installs it) driving a job on it, as by hand:
#   node src/test/browser/console.spec.mjs http://localhost:8080 KEY demo 30 docs/images/console.png
# 13 minutes on the two-core build machine without the LoRA (2026-12-06), 2 more for the screenshot,
# and 8 more to retrain the LoRA; set REMEASURE_SKIP_LORA=1 to keep the adapter,
# REMEASURE_SKIP_CONSOLE=1 to keep the screenshot.
set -euo pipefail
cd "$(dirname "$0")/../.."
out="${1:-target/remeasure}"
mkdir -p "$out"
: > "$out/commands.txt"

./mvnw -q -B test-compile -DskipNativeCheck

# demo-eval NAME ARGS: one evaluation, its output into OUT/NAME.txt
demo_eval() {
  local name=$1 args=$2
  echo "./mvnw test-compile exec:java@demo-eval -Dexec.args=\"$args\"   # $name" >> "$out/commands.txt"
  echo "==> $name ($(date +%T))"
  ./mvnw -q -B exec:java@demo-eval -Dexec.args="$args" > "$out/$name.txt" 2>&1
}

colors_but_red="--preserve green --preserve blue --preserve yellow --preserve purple --preserve orange"
colors_but_red+=" --preserve white --preserve black"

demo_eval schedulers ""                                     # the card's main table, partial prompts
demo_eval guidance-3 "--schedulers ddim --guidance 3"
demo_eval grid "--pictures docs/images/demo-grid.png"       # README's grid
demo_eval clip-modes "--clip-modes plain,rerank,verifier,guidance --prompts 50"
demo_eval rewrite-red-blue "--rewrite red=blue --world-contexts 48 $colors_but_red --preserve-scale 0.1 --prompts 200"
demo_eval rewrite-circle-square "--rewrite circle=square --world-contexts 64 --preserve triangle --preserve-scale 0.02 --prompts 200"
demo_eval rewrite-circle-square-held "--rewrite circle=square --world-contexts 64 --preserve triangle --preserve square --preserve-scale 0.2 --preserve-unconditional 1 --prompts 200"
demo_eval erase-red "--erase red --world-contexts 48 $colors_but_red --preserve-scale 0.1 --prompts 200"

echo "==> DemoModelQualityTest ($(date +%T))"
./mvnw -q -B test -Dtest=DemoModelQualityTest -Dsurefire.failIfNoSpecifiedTests=false > "$out/quality-test.txt" 2>&1

if [ "${REMEASURE_SKIP_LORA:-0}" != 1 ]; then
  echo "==> pink LoRA, retrained on this UNet ($(date +%T))"
  rm -rf src/demo-model/work-lora
  (cd src/demo-model && /usr/bin/python3 -m easel_demo.lora --bundle bundle --out loras/pink.safetensors \
    --work work-lora) > "$out/lora-training.txt" 2>&1
  demo_eval lora "--lora src/demo-model/loras/pink.safetensors --threads 2"
fi

# README's before/after pair: the same prompt and seed, then with red=blue through the EOS row
echo "==> before/after red=blue ($(date +%T))"
./mvnw -q -B package -DskipTests -DskipNativeCheck
pair="$out/red-blue"
rm -rf "$pair" && mkdir -p "$pair/before" "$pair/after"
for side in before after; do
  edit=()
  [ "$side" = after ] && edit=(--rewrite red=blue --rewrite-rows through-eos)
  java -jar target/quarkus-app/quarkus-run.jar generate --model src/demo-model/bundle --width 64 --height 64 \
    --scheduler ddim --seed 42 --prompt "a big red circle in the middle on a white background" "${edit[@]}" \
    --out "$pair/$side" > "$pair/$side.log" 2>&1
done
/usr/bin/python3 - "$pair" docs/images/rewrite-red-blue.png <<'EOF'
import glob, sys
from PIL import Image, ImageDraw
pair, target = sys.argv[1:]
tiles = [Image.open(glob.glob(f"{pair}/{side}/*.png")[0]).convert("RGB").resize((256, 256), Image.NEAREST)
         for side in ("before", "after")]
sheet = Image.new("RGB", (520, 278), "white")
draw = ImageDraw.Draw(sheet)
for i, (tile, label) in enumerate(zip(tiles, ("base model", "after the edit red=blue (rows through-eos)"))):
    sheet.paste(tile, (i * 264, 0))
    draw.text((i * 264 + 4, 262), label, fill="black")
sheet.save(target)
EOF
if [ "${REMEASURE_SKIP_CONSOLE:-0}" != 1 ]; then
  echo "==> console screenshot ($(date +%T))"
  [ -d src/test/browser/node_modules/playwright-core ] \
    || npm ci --prefix src/test/browser --no-audit --no-fund --loglevel=error >/dev/null
  key="easel_remeasure_$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')"
  port=18080
  EASEL_API_KEY="$key" EASEL_HTTP_PORT=$port deployment/run-local.sh > "$out/run-local.txt" 2>&1 &
  local_stack=$!
  # run-local.sh's trap stops the worker, Kafka and S3Proxy on TERM, whatever happens below.
  trap 'kill -TERM $local_stack 2>/dev/null || true; wait $local_stack 2>/dev/null || true' EXIT
  for _ in $(seq 1 300); do
    curl -sf "localhost:$port/q/health/ready" >/dev/null && break
    kill -0 $local_stack 2>/dev/null || { echo "run-local.sh stopped:"; tail -20 "$out/run-local.txt"; exit 1; }
    sleep 1
  done
  curl -sf "localhost:$port/q/health/ready" >/dev/null \
    || { echo "the worker was not ready in 300 s:"; tail -20 "$out/run-local.txt"; exit 1; }
  node src/test/browser/console.spec.mjs "http://localhost:$port" "$key" demo 30 docs/images/console.png \
    > "$out/console.txt" 2>&1 || { echo "the console test failed:"; tail -20 "$out/console.txt"; exit 1; }
fi

echo "==> done ($(date +%T)): tables in $out, pictures in docs/images"
