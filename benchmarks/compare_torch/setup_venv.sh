#!/usr/bin/env bash
# Creates (or reuses and completes) the Python virtual environment of compare_torch.py:
# $GALORE_TORCH_VENV, default ~/.cache/galore-kokkos/venv-torch, with requirements.txt from PyPI.
# A fresh install downloads about 3 GB and takes about 1.5 minutes; an up-to-date one, seconds.
# Prints the venv's python on the last line.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${GALORE_TORCH_VENV:-$HOME/.cache/galore-kokkos/venv-torch}"
start=$SECONDS
if [ ! -x "$venv/bin/python" ]; then
  mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r "$here/requirements.txt"
echo "setup_venv.sh: $venv ready in $((SECONDS - start)) s" >&2
echo "$venv/bin/python"
