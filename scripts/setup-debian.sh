#!/usr/bin/env bash
# Installs what galore-kokkos needs on Debian/Ubuntu and builds Kokkos once.
#
# Debian ships no Kokkos with a parallel host backend (libtrilinos-kokkos-dev is Serial-only), so
# Kokkos 3.4.01 (OpenMP + Serial) is built from Debian's own trilinos source package and installed
# into a cache prefix outside the clone. A second run finds the prefix and returns in seconds.
#
# Prints the Kokkos prefix on its last line. Users with a Kokkos of their own (spack, modules) skip
# this script and pass -DKokkos_ROOT=... to CMake.
set -euo pipefail

cache_root="${GALORE_CACHE:-$HOME/.cache/galore-kokkos}"
kokkos_prefix="$cache_root/kokkos-3.4.01-openmp"
jobs="$(nproc)"

log() { printf '[setup] %s\n' "$*" >&2; }

sudo_if_needed() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

debian_packages=(
  build-essential cmake dpkg-dev xz-utils python3 python3-matplotlib clang-format
  libopenblas-dev liblapacke-dev
  libhdf5-dev hdf5-tools
  libopenmpi-dev openmpi-bin
  catch2 nlohmann-json3-dev libtomlplusplus-dev libcli11-dev libfmt-dev
)

missing=()
for p in "${debian_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  sudo_if_needed apt-get update -qq
  sudo_if_needed env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ -f "$kokkos_prefix/lib/cmake/Kokkos/KokkosConfig.cmake" ] || \
   [ -f "$kokkos_prefix/lib64/cmake/Kokkos/KokkosConfig.cmake" ]; then
  log "Kokkos found in cache: $kokkos_prefix"
  echo "$kokkos_prefix"
  exit 0
fi

# Source packages need a deb-src entry; add one for the running release if none is configured.
if ! apt-get source --print-uris trilinos >/dev/null 2>&1; then
  log "adding a deb-src entry for trilinos"
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")"
  if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    sed 's/^Types: deb$/Types: deb-src/' /etc/apt/sources.list.d/debian.sources |
      sudo_if_needed tee /etc/apt/sources.list.d/galore-deb-src.sources >/dev/null
  else
    echo "deb-src http://deb.debian.org/debian $codename main" |
      sudo_if_needed tee /etc/apt/sources.list.d/galore-deb-src.list >/dev/null
  fi
  sudo_if_needed apt-get update -qq
fi

work="$cache_root/src"
mkdir -p "$work"
cd "$work"
tarball="$(ls trilinos_*.orig.tar.* 2>/dev/null | head -n 1 || true)"
if [ -z "$tarball" ]; then
  log "downloading the trilinos source package (about 166 MB, once)"
  apt-get source --download-only trilinos >/dev/null
  tarball="$(ls trilinos_*.orig.tar.* | head -n 1)"
fi
if [ ! -f kokkos/CMakeLists.txt ]; then
  log "extracting packages/kokkos from $tarball"
  rm -rf kokkos extract && mkdir extract
  tar -xf "$tarball" -C extract --wildcards '*/packages/kokkos/*'
  mv extract/*/packages/kokkos kokkos
  rm -rf extract
fi

log "building Kokkos (OpenMP + Serial) into $kokkos_prefix"
cmake -S kokkos -B kokkos-build -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_INSTALL_PREFIX="$kokkos_prefix" -DCMAKE_CXX_STANDARD=17 \
  -DCMAKE_POSITION_INDEPENDENT_CODE=ON \
  -DKokkos_ENABLE_OPENMP=ON -DKokkos_ENABLE_SERIAL=ON \
  -DKokkos_ENABLE_TESTS=OFF -DKokkos_ENABLE_EXAMPLES=OFF >/dev/null
cmake --build kokkos-build -j "$jobs" >/dev/null
cmake --install kokkos-build >/dev/null
rm -rf kokkos-build
log "Kokkos installed: $kokkos_prefix"
echo "$kokkos_prefix"
