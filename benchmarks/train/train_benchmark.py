#!/usr/bin/env python3
"""Tokens/s and peak resident memory of galore-train per preset and optimizer, side by side.

Each configuration is a separate galore-train process on the built-in Lorenz-96 corpus (no
evaluation beyond one window, no checkpoints), so its peak resident memory is the whole program's.
Tokens/s is the median over the steps after the first (warm-up). Prints a Markdown table.

usage: train_benchmark.py --galore-train PATH [--quick] [--presets 20m 60m] [--steps N]
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

OPTIMIZERS = ["adamw", "adam8bit", "adafactor", "galore_adamw", "galore_adamw8bit",
              "galore_adafactor"]
PAPER_RANK = {"9m": 32, "20m": 64, "60m": 128, "130m": 256, "350m": 256, "1b": 512, "7b": 1024}


def run(galore_train, preset, optimizer, per_layer, steps, seq, micro_batch, threads, workdir):
    out = os.path.join(workdir, f"{preset}-{optimizer}-{'pl' if per_layer else 'std'}")
    args = [galore_train, f"--model.preset={preset}", "--model.dtype=fp32",
            f"--optimizer.name={optimizer}", f"--optimizer.rank={PAPER_RANK[preset]}",
            f"--optimizer.per_layer={'true' if per_layer else 'false'}",
            f"--batch.micro_batch={micro_batch}", f"--batch.global_batch={micro_batch}",
            f"--batch.seq_len={seq}", f"--run.steps={steps}", "--run.eval_interval=0",
            f"--run.eval_tokens={seq}", f"--run.threads={threads}", f"--run.output_dir={out}",
            "--checkpoint.at_exit=false", f"--checkpoint.interval_steps={steps + 1}"]
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        sys.exit(f"galore-train failed ({result.returncode}): {' '.join(args)}\n{result.stderr}")
    with open(os.path.join(out, "metrics.jsonl")) as f:
        rates = [r["tokens_per_s"] for r in map(json.loads, f) if r["type"] == "train"]
    with open(os.path.join(out, "summary.json")) as f:
        peak = json.load(f)["peak_resident_bytes"]
    return statistics.median(rates[1:] or rates), peak


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--galore-train", required=True)
    parser.add_argument("--quick", action="store_true", help="9m preset, 3 steps, seq 64 (CI)")
    parser.add_argument("--presets", nargs="+", default=["20m", "60m"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--micro-batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    args = parser.parse_args()
    if args.quick:
        args.presets, args.steps, args.seq = ["9m"], 3, 64

    print(f"galore-train, fp32, batch {args.micro_batch} x seq {args.seq}, {args.steps} steps, "
          f"{args.threads} threads; tokens/s = median over steps 2..{args.steps}")
    print("| preset | optimizer | per-layer | tokens/s | vs adamw | peak RSS MiB | vs adamw |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory() as workdir:
        for preset in args.presets:
            base = None
            for optimizer in OPTIMIZERS:
                for per_layer in ([False, True] if optimizer.startswith("galore") else [False]):
                    rate, peak = run(args.galore_train, preset, optimizer, per_layer, args.steps,
                                     args.seq, args.micro_batch, args.threads, workdir)
                    base = base or (rate, peak)
                    print(f"| {preset} | {optimizer} | {'on' if per_layer else 'off'} | "
                          f"{rate:.0f} | {rate / base[0]:.2f} | {peak / 2**20:.0f} | "
                          f"{peak / base[1]:.2f} |", flush=True)


if __name__ == "__main__":
    main()
