#!/usr/bin/env bash
# Sets up, builds and runs every test (the README's test command; CI runs it too).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh
cd "${GALORE_BUILD_DIR:-build}"
ctest --output-on-failure -j "$(nproc)"
