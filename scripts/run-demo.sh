#!/usr/bin/env bash
# The README's main job: set up, build, then pretrain a 0.5M-parameter LLaMA with GaLore-AdamW on
# the built-in Lorenz-96 corpus (examples/tiny-cpu.toml). The validation loss is printed next to
# the unigram baseline; outputs (config.toml, metrics.jsonl, summary.json, checkpoints) go to
# runs/tiny-cpu. Extra arguments are passed to galore-train as overrides, e.g. --run.steps=50.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/build.sh galore-train
build_dir="${GALORE_BUILD_DIR:-build}"
"$build_dir/apps/galore-train/galore-train" --config examples/tiny-cpu.toml "$@"
