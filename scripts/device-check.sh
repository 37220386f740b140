#!/usr/bin/env bash
# The GPU check for a machine with a real accelerator (the project's device runs): builds, runs the tests
# that use the GPU with skips turned into failures, a short pass of the benches, and writes a summary to
# $OUT/summary.txt (or ./device-check-summary.txt). Meant to be run once per session that has a device,
# under a time limit: each stage is bounded, and what finished is in the summary whatever happens later.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.}"
summary="$out/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary" >&2; }

note "== device check $(date -u +%FT%TZ) on $(hostname)"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$summary"
export DAVINCI_REQUIRE_GPU=1 DAVINCI_FUZZ_SECS=2
timeout 240 cargo build --release --all-targets 2>&1 | tail -2
timeout 30 target/release/davinci info 2>&1 | tee -a "$summary"
# Suite and test-module filter: the gpu suite whole, and the numerics and models files that use the GPU.
for t in gpu numerics:matmul_f32:: numerics:golden_matmul:: numerics:golden_vector_rows:: models:train::; do
    suite=${t%%:*}; filter=${t#*:}; [ "$filter" = "$t" ] && filter=""
    if timeout 120 cargo test --release --test "$suite" -- $filter >"$out/test-${t//:/_}.log" 2>&1; then
        note "PASS $t: $(grep -h '^test result' "$out/test-${t//:/_}.log" | tail -1)"
    else
        note "FAIL $t (see test-${t//:/_}.log): $(grep -hE 'panicked|FAILED' "$out/test-${t//:/_}.log" | head -3)"
    fi
done
timeout 60 target/release/davinci demo --executor both --json >"$out/demo.json" 2>"$out/demo.err" \
    && note "demo: $(grep -E '"bit_exact"|"seq"' "$out/demo.json" | tr -d ' \n')" || note "demo FAILED: $(tail -2 "$out/demo.err")"
timeout 150 cargo bench --bench cube_matmul -- --warm-up-time 1 --measurement-time 3 >"$out/bench.log" 2>&1
note "bench cube_matmul: $(grep -cE 'time:' "$out/bench.log") measurements (bench.log)"
note "== done $(date -u +%FT%TZ)"
