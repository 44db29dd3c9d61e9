#!/usr/bin/env bash
# Install test: installs an already built galore-kokkos build folder into a temporary prefix, then
# configures, builds and runs the downstream project in this folder against that prefix.
#
#   tests/install/run.sh <build-dir>      (after `cmake --build <build-dir>`)
#
# Checks on the way: the installed CMake files name no path of the source or build tree; every
# program that was built is installed; the version file accepts the installed version and refuses the next major one; the downstream
# program's own numerical check passes. Registered with ctest as install.downstream.
set -euo pipefail

if [ "$#" -ne 1 ] || [ ! -f "$1/CMakeCache.txt" ]; then
  echo "usage: $0 <built galore-kokkos build dir>" >&2
  exit 2
fi
build_dir="$(cd "$1" && pwd)"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source_dir="$(cd "$here/../.." && pwd)"

cache_value() { sed -n "s/^$1:[A-Z]*=//p" "$build_dir/CMakeCache.txt" | head -n 1; }
cmake_bin="$(cache_value CMAKE_COMMAND)"
cxx="$(cache_value CMAKE_CXX_COMPILER)"
kokkos_dir="$(cache_value Kokkos_DIR)"
kokkos_root="${kokkos_dir%/*/*/*}"  # <prefix>/lib/cmake/Kokkos -> <prefix>

work="$(mktemp -d "${TMPDIR:-/tmp}/galore-install-test.XXXXXX")"
cleanup() {  # keep the work folder of a failed run for inspection
  if [ "$1" -eq 0 ]; then rm -rf "$work"; else echo "kept $work" >&2; fi
}
trap 'cleanup $?' EXIT
prefix="$work/prefix"

echo "== install $build_dir into $prefix"
"$cmake_bin" --install "$build_dir" --prefix "$prefix" >"$work/install.log"

package_dir="$(dirname "$(find "$prefix" -name GaloreKokkosConfig.cmake | head -n 1)")"
for tree in "$source_dir" "$build_dir"; do
  if grep -rl -- "$tree" "$package_dir"; then
    echo "FAIL: installed CMake files above name $tree" >&2
    exit 1
  fi
done
for app in galore-train galore-data galore-memory; do
  if [ -x "$build_dir/apps/$app/$app" ] && [ ! -x "$prefix/bin/$app" ]; then
    echo "FAIL: $app was built but not installed into $prefix/bin" >&2
    exit 1
  fi
done
version_file="$package_dir/GaloreKokkosConfigVersion.cmake"
version="$(sed -n 's/^set(PACKAGE_VERSION "\(.*\)")$/\1/p' "$version_file")"
echo "installed GaloreKokkos $version: $(find "$prefix" -type f | wc -l) files"

configure() {  # configure <build-subdir> <requested version>
  "$cmake_bin" -S "$here" -B "$work/$1" -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_CXX_COMPILER="$cxx" -DKokkos_ROOT="$kokkos_root" -DCMAKE_PREFIX_PATH="$prefix" \
    -DGALORE_EXPECTED_VERSION="$2"
}

echo "== version file refuses the next major version"
next_major="$((${version%%.*} + 1)).0"
if configure downstream-wrong-version "$next_major" >"$work/wrong-version.log" 2>&1 ||
   ! grep -q "compatible with requested version" "$work/wrong-version.log"; then
  cat "$work/wrong-version.log" >&2
  echo "FAIL: find_package(GaloreKokkos $next_major) did not refuse version $version" >&2
  exit 1
fi

echo "== downstream project"
configure downstream "$version"
"$cmake_bin" --build "$work/downstream" -j "${GALORE_BUILD_JOBS:-2}"
OMP_NUM_THREADS=2 OMP_PROC_BIND=false "$work/downstream/galore_downstream"
