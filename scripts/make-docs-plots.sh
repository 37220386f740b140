#!/usr/bin/env bash
# Draws the README's pictures into docs/ with the CLI (any build: $DAVINCI_BIN, else target/release or
# target/debug): the roofline and one op's per-core timeline of the demo's LLaMA-3 8B decoder layer on a
# 910C, a LLaMA-3 70B training step's time by role on CloudMatrix 384, and every plan of that step.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${DAVINCI_BIN:-}
if [ -z "$bin" ]; then
    for b in target/release/davinci target/debug/davinci; do
        if [ -x "$b" ] && { [ -z "$bin" ] || [ "$b" -nt "$bin" ]; }; then bin=$b; fi
    done
fi
[ -n "$bin" ] || { echo "make-docs-plots: build davinci first (cargo build --release)" >&2; exit 1; }
trace=$(mktemp --suffix=.json)
trap 'rm -f "$trace"' EXIT
# The demo's prediction is for sequence 512 whatever the host runs; --seq 16 keeps the host's run short.
"$bin" demo --seq 16 --executor cpu --no-check --trace "$trace" \
    --plot docs/roofline.svg --plot-timeline docs/timeline.svg --plot-op 1 >/dev/null
"$bin" cluster train --model llama3-70b --plan dp=24,tp=4,pp=4 --plot docs/breakdown.svg >/dev/null
"$bin" cluster train --model llama3-70b --sweep --plot docs/sweep.svg >/dev/null
echo "make-docs-plots: docs/roofline.svg docs/timeline.svg docs/breakdown.svg docs/sweep.svg" >&2
