#!/usr/bin/env bash
# The GPU check for a machine with a real accelerator (the project's device runs): builds in release, runs
# the GPU identity tests with skips turned into failures (the gpu suite: gpu_cpu_identity, vector_identity,
# vector_exhaustive (division and sqrt from the adapter's estimate), vector_wide, vector_rows, vector_chain,
# cube_matmul_fast, cube_matmul_modes, formats, chunking, a lost device; the numerics files that use the
# GPU; the training
# identity), the demo on both executors, then the benches in a short mode, and writes one summary to
# $OUT/summary.txt (or ./summary.txt): the adapter, every result, the benches' GFLOP/s and GB/s tables
# with fractions of the adapter's measured peak. Each stage is bounded (about 6 minutes in all on an H200
# with a warm build), and what finished is in the summary whatever happens later.
#
# A machine without the Vulkan loader: copy this machine's into the working tree first and carry it
#   mkdir -p .device/lib && cp -L /lib/x86_64-linux-gnu/libvulkan.so.1 .device/lib/
# (`.device/` is ignored by git; pass it in the run's carry). The NVIDIA driver brings its own ICD.
set -uo pipefail
cd "$(dirname "$0")/.."
out="${OUT:-.}"
summary="$out/summary.txt"
: >"$summary"
note() { echo "$*" | tee -a "$summary" >&2; }

note "== device check $(date -u +%FT%TZ) on $(hostname), $(nproc) cores"
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee -a "$summary"
if ! ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
    if [ -e .device/lib/libvulkan.so.1 ]; then
        export LD_LIBRARY_PATH="$PWD/.device/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
        note "Vulkan loader: the carried .device/lib/libvulkan.so.1"
    else
        note "Vulkan loader: none on this machine and none carried (see the header); GPU stages will fail"
    fi
fi
export DAVINCI_REQUIRE_GPU=1 DAVINCI_FUZZ_SECS=2
timeout 300 cargo build --release --all-targets 2>&1 | tail -2
timeout 60 target/release/davinci info --peak 2>&1 | tee -a "$summary"
# Suite and test-module filter: the gpu suite whole, and the numerics and models files that use the GPU.
for t in gpu numerics:matmul_f32:: numerics:golden_matmul:: numerics:golden_vector_rows:: models:train::; do
    suite=${t%%:*}; filter=${t#*:}; [ "$filter" = "$t" ] && filter=""
    log="$out/test-${t//:/_}.log"
    if timeout 120 cargo test --release --test "$suite" -- $filter >"$log" 2>&1; then
        note "PASS $t: $(grep -h '^test result' "$log" | tail -1)"
    else
        note "FAIL $t (see ${log##*/}): $(grep -hE 'panicked|FAILED' "$log" | head -3)"
    fi
done
timeout 60 target/release/davinci demo --executor both --json >"$out/demo.json" 2>"$out/demo.err" \
    && note "demo: $(grep -E '"bit_exact"|"seq"' "$out/demo.json" | tr -d ' \n')" || note "demo FAILED: $(tail -2 "$out/demo.err")"
# Benches, short: each prints its own summary table at the end, copied into the summary.
bench() {
    local name=$1 limit=$2; shift 2
    timeout "$limit" cargo bench --bench "$name" -- --warm-up-time 1 --measurement-time 2 "$@" >"$out/bench-$name.log" 2>&1
    note "bench $name (rc $?): $(grep -cE 'time:' "$out/bench-$name.log") measurements (bench-$name.log)"
    sed -n '/^cube_matmul, n x n\|summary (/,$p' "$out/bench-$name.log" \
        | grep -vE '^(Benchmarking|Found|  [0-9]+ \(|.*time: |.*thrpt: )' >>"$summary"
}
bench cube_matmul 150
bench vector 120
note "== done $(date -u +%FT%TZ)"
