#!/usr/bin/env bash
# ctest checkpoint.h5py: trains a tiny GaLore run with galore-train, exports its weights, and reads
# both with scripts/check_checkpoint.py (h5py). Exit 77 (ctest: skipped) when h5py is missing.
# Usage: run_h5py_check.sh <galore-train> <python3> <check_checkpoint.py>
set -euo pipefail
train=$1
python=$2
script=$3
if ! "$python" -c "import h5py, numpy" 2>/dev/null; then
  echo "SKIPPED: h5py (and numpy) are not importable by $python; on Debian: apt install python3-h5py"
  exit 77
fi
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
cat > "$dir/tiny.json" <<'JSON'
{"hidden_size": 32, "intermediate_size": 64, "num_attention_heads": 2, "num_hidden_layers": 2,
 "vocab_size": 258, "max_sequence_length": 64}
JSON
cat > "$dir/run.toml" <<'TOML'
[model]
config_json = "tiny.json"
dtype = "bf16"
[optimizer]
name = "galore_adamw"
rank = 8
update_gap = 2
[batch]
micro_batch = 2
global_batch = 2
seq_len = 16
[run]
steps = 3
eval_interval = 0
eval_tokens = 64
threads = 1
TOML
export OMP_PROC_BIND=false
"$train" -c "$dir/run.toml" --run.output_dir "$dir/run" > "$dir/train.log" 2>&1 ||
  { cat "$dir/train.log"; exit 1; }
checkpoint="$dir/run/checkpoints/step-000000000003.h5"
"$train" --export-weights "$checkpoint" "$dir/weights.safetensors"
"$python" "$script" "$checkpoint" --safetensors "$dir/weights.safetensors"
