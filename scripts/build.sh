#!/usr/bin/env bash
# Configures and builds galore-kokkos into build/ (or $GALORE_BUILD_DIR); arguments name targets
# to build instead of everything (the demo builds only galore-train).
# Uses $Kokkos_ROOT when set; otherwise runs scripts/setup-debian.sh, which installs the Debian
# packages and builds Kokkos once into ~/.cache/galore-kokkos.
set -euo pipefail
cd "$(dirname "$0")/.."

kokkos_root="${Kokkos_ROOT:-}"
if [ -z "$kokkos_root" ]; then
  kokkos_root="$(bash scripts/setup-debian.sh | tail -n 1)"
fi
build_dir="${GALORE_BUILD_DIR:-build}"
cmake -S . -B "$build_dir" -DKokkos_ROOT="$kokkos_root" \
  -DGALORE_WERROR="${GALORE_WERROR:-OFF}" ${GALORE_CMAKE_ARGS:-} >/dev/null
cmake --build "$build_dir" -j "$(nproc)" ${1:+--target "$@"}
