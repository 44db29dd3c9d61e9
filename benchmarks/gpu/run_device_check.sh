#!/usr/bin/env bash
# The prepared device check of the CUDA kernels (docs/cuda.md). On a machine with an NVIDIA GPU
# and nvcc it builds kernels/cuda, tests/cuda and benchmarks/gpu on their own (the standalone
# CMake project in benchmarks/gpu/standalone: no Kokkos), runs the CPU-reference tests, the GPU
# kernel tests and the GPU benchmark, and writes everything to $OUT (./gpu-results when OUT is
# unset). Every step has a time limit, cut to what is left of 7 min 40 s, so the whole check
# stays under 8 minutes (what a step had finished before its limit is kept in $OUT).
#
#   benchmarks/gpu/run_device_check.sh [--build-only] [--quick] [--arch SM]
#
#   --build-only  stop after the build (all a machine without a GPU can check)
#   --quick       the benchmark's quick mode (seconds)
#   --arch SM     CUDA architecture, e.g. 89 or 90 (default: the GPU's own, else 90)
#
# Catch2: an installed package, or the single header catch2/catch.hpp under
# build-device-deps/include (git-ignored; copy /usr/include/catch2 there and carry it to a GPU
# machine that lacks Catch2), or GALORE_CATCH2_INCLUDE_DIR.
# Output files: summary.txt, nvidia-smi.txt, build.log, reference-tests.txt, gpu-tests.txt,
# benchmark.txt, benchmark.json.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
out=${OUT:-$PWD/gpu-results}
build=${GALORE_DEVICE_BUILD:-$repo/build-device-check}
build_only=0
quick=0
arch=""
while [[ $# -gt 0 ]]; do
  case $1 in
    --build-only) build_only=1 ;;
    --quick) quick=1 ;;
    --arch) arch=${2:?--arch needs a value}; shift ;;
    *) echo "usage: $0 [--build-only] [--quick] [--arch SM]" >&2; exit 2 ;;
  esac
  shift
done

mkdir -p "$out"
summary=$out/summary.txt
: >"$summary"
log() { echo "$*" | tee -a "$summary"; }
started=$(date +%s)
deadline=$((started + 460))  # every step's limit is cut to what is left of 7 min 40 s
elapsed() { echo "$(($(date +%s) - started)) s"; }
# limit SECONDS: the smaller of SECONDS and the time left before the deadline (at least 1).
limit() {
  local left=$((deadline - $(date +%s)))
  ((left < 1)) && left=1
  echo $(($1 < left ? $1 : left))
}

if [[ -z $arch ]] && command -v nvidia-smi >/dev/null 2>&1; then
  cap=$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader 2>/dev/null | head -n 1)
  arch=${cap/./}
fi
arch=${arch:-90}

log "galore-kokkos CUDA device check, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
log "commit: $(git -C "$repo" rev-parse --short HEAD 2>/dev/null || echo unknown) (plus uncommitted changes, if any)"
log "nvcc: $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo 'not found')"
nvidia-smi >"$out/nvidia-smi.txt" 2>&1 || echo "nvidia-smi: not available" >"$out/nvidia-smi.txt"
gpu=$(nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader 2>/dev/null | head -n 1)
log "gpu: ${gpu:-none found (nvidia-smi unavailable or no device)}"
log "architecture: sm_$arch"

configure=(-S "$repo/benchmarks/gpu/standalone" -B "$build" -DCMAKE_BUILD_TYPE=Release
           -DCMAKE_CUDA_ARCHITECTURES="$arch" -DGALORE_WERROR=ON)
command -v ninja >/dev/null 2>&1 && configure+=(-G Ninja)
command -v nvcc >/dev/null 2>&1 || configure+=(-DCMAKE_CUDA_COMPILER=/usr/local/cuda/bin/nvcc)
if [[ -n ${GALORE_CATCH2_INCLUDE_DIR:-} ]]; then
  configure+=(-DGALORE_CATCH2_INCLUDE_DIR="$GALORE_CATCH2_INCLUDE_DIR")
fi
jobs=$(nproc 2>/dev/null || echo 2)
if ! { timeout "$(limit 60)" cmake "${configure[@]}" &&
  timeout "$(limit 300)" cmake --build "$build" -j "$jobs"; } \
  >"$out/build.log" 2>&1; then
  log "build: FAILED after $(elapsed) (last lines of build.log follow)"
  tail -n 40 "$out/build.log" | tee -a "$summary"
  exit 1
fi
log "build: ok after $(elapsed)"
if [[ $build_only == 1 ]]; then
  log "--build-only: stopping after the build"
  exit 0
fi

status=0
if timeout "$(limit 60)" "$build/tests/cuda/test_cuda_reference" >"$out/reference-tests.txt" 2>&1; then
  log "reference tests: $(grep -E 'passed|failed' "$out/reference-tests.txt" | tail -n 1)"
else
  log "reference tests: FAILED (see reference-tests.txt)"
  status=1
fi

tests_limit=$(limit 150)
timeout "$tests_limit" "$build/tests/cuda/test_cuda_kernels" --durations yes >"$out/gpu-tests.txt" 2>&1
code=$?
case $code in
  0) log "gpu tests: $(grep -E 'passed|failed' "$out/gpu-tests.txt" | tail -n 1)" ;;
  77)
    log "gpu tests: skipped, $(head -n 1 "$out/gpu-tests.txt")"
    log "no GPU: stopping before the benchmark after $(elapsed)"
    exit "$status" ;;
  124) log "gpu tests: TIMED OUT after $tests_limit s (see gpu-tests.txt)"; status=1 ;;
  *) log "gpu tests: FAILED with exit code $code (see gpu-tests.txt)"; status=1 ;;
esac

bench_args=(--json "$out/benchmark.json")
[[ $quick == 1 ]] && bench_args+=(--quick)
timeout "$(limit 240)" "$build/benchmarks/gpu/gpu_benchmark" "${bench_args[@]}" \
  >"$out/benchmark.txt" 2>&1
code=$?
if [[ $code == 0 ]]; then
  log "benchmark: done (benchmark.txt, benchmark.json)"
else
  log "benchmark: FAILED or timed out with exit code $code (see benchmark.txt)"
  status=1
fi
log "total: $(elapsed)"
exit "$status"
