#!/usr/bin/env bash
# Fails when a tracked C++/CUDA source differs from .clang-format's layout (CI runs this).
set -euo pipefail
cd "$(dirname "$0")/.."
files=$(git ls-files '*.hpp' '*.cpp' '*.cu' '*.cuh')
[ -n "$files" ] || exit 0
# shellcheck disable=SC2086
clang-format --dry-run --Werror $files
