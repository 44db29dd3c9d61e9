#!/usr/bin/env python3
"""Tokens/s and peak resident memory of galore-train per preset and optimizer, side by side.

Each configuration is a separate galore-train process on the built-in Lorenz-96 corpus (no
evaluation beyond one window, no checkpoints), so its peak resident memory is the whole program's.
Tokens/s is the median over the steps after the first (warm-up). Prints a Markdown table.

usage: train_benchmark.py --galore-train PATH [--quick] [--presets 20m 60m] [--steps N]
                          [--markdown FILE]
  --markdown FILE  also write the table as a RESULTS.md fragment, with PNG plots of tokens/s and
                   peak memory per optimizer beside it (train_tokens.png, train_memory.png)
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from bar_chart import write_bar_chart  # noqa: E402

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


def write_fragment(path, args, rows):
    """rows: (preset, optimizer, per_layer, tokens/s, peak bytes, tokens/s ratio, peak ratio)."""
    directory = os.path.dirname(os.path.abspath(path))
    command = "python3 benchmarks/train/train_benchmark.py --galore-train " \
        "build/apps/galore-train/galore-train" + (" --quick" if args.quick else "")
    lines = [
        "## galore-train end to end (issue: galore-train)", "", "Command:", "",
        f"    {command}", "",
        f"Each row is one `galore-train` process on the built-in Lorenz-96 corpus: fp32, "
        f"{args.micro_batch} x {args.seq} tokens per step, {args.steps} steps (tokens/s: median "
        f"of steps 2-{args.steps}, so the step-1 subspace refresh is excluded), GaLore at the "
        f"paper's rank, {args.threads} threads, peak resident memory of the whole process "
        f"(runtime, libraries and the generated corpus included, about 40 MiB). Rows are "
        f"separate processes run one after another.", "",
        "| preset | optimizer | per-layer | tokens/s | vs adamw | peak RSS MiB | vs adamw |",
        "|---|---|---|---|---|---|---|"]
    for preset, optimizer, per_layer, rate, peak, rate_ratio, peak_ratio in rows:
        lines.append(f"| {preset} | {optimizer} | {'on' if per_layer else 'off'} | {rate:.0f} | "
                     f"{rate_ratio:.2f} | {peak / 2**20:.0f} | {peak_ratio:.2f} |")
    lowest = min(rows, key=lambda r: r[6])
    lines += ["",
              "- Per-layer updates lower the peak by one model's worth of fp32 gradients less the "
              "largest set live at once (the embedding's, or gate + up).",
              f"- Lowest peak relative to AdamW: {lowest[1]} with per-layer "
              f"{'on' if lowest[2] else 'off'} at {lowest[0]}, {lowest[6]:.2f}x.",
              "- On a CPU the optimizers' step time is visible next to a 256-token "
              "forward/backward: 8-bit Adam's dequantize-update-requantize is latency-bound here "
              "(see the optimizer section)."]
    labels = [f"{r[0]} {r[1]}{' pl' if r[2] else ''}" for r in rows]
    plots = [("train_tokens.png", "galore-train tokens/s per optimizer (fp32, 'pl': per-layer)",
              "tokens/s", [("tokens/s", [r[3] for r in rows])]),
             ("train_memory.png", "galore-train peak resident memory per optimizer",
              "MiB", [("peak RSS", [r[4] / 2**20 for r in rows])])]
    written = [name for name, title, unit, series in plots
               if write_bar_chart(os.path.join(directory, name), title, unit, labels, series)]
    if written:
        lines.append("")
        lines += [f"![{name[:-4]}]({os.path.basename(directory)}/{name})" for name in written]
    else:
        lines += ["", "(plots skipped: matplotlib is not installed)"]
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--galore-train", required=True)
    parser.add_argument("--quick", action="store_true", help="9m preset, 3 steps, seq 64 (CI)")
    parser.add_argument("--presets", nargs="+", default=["20m", "60m"])
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--seq", type=int, default=256)
    parser.add_argument("--micro-batch", type=int, default=1)
    parser.add_argument("--threads", type=int, default=os.cpu_count())
    parser.add_argument("--markdown", metavar="FILE", help="write a RESULTS.md fragment")
    args = parser.parse_args()
    if args.quick:
        args.presets, args.steps, args.seq = ["9m"], 3, 64

    print(f"galore-train, fp32, batch {args.micro_batch} x seq {args.seq}, {args.steps} steps, "
          f"{args.threads} threads; tokens/s = median over steps 2..{args.steps}")
    print("| preset | optimizer | per-layer | tokens/s | vs adamw | peak RSS MiB | vs adamw |")
    print("|---|---|---|---|---|---|---|")
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for preset in args.presets:
            base = None
            for optimizer in OPTIMIZERS:
                for per_layer in ([False, True] if optimizer.startswith("galore") else [False]):
                    rate, peak = run(args.galore_train, preset, optimizer, per_layer, args.steps,
                                     args.seq, args.micro_batch, args.threads, workdir)
                    base = base or (rate, peak)
                    rows.append((preset, optimizer, per_layer, rate, peak, rate / base[0],
                                 peak / base[1]))
                    print(f"| {preset} | {optimizer} | {'on' if per_layer else 'off'} | "
                          f"{rate:.0f} | {rate / base[0]:.2f} | {peak / 2**20:.0f} | "
                          f"{peak / base[1]:.2f} |", flush=True)

    if args.markdown:
        write_fragment(args.markdown, args, rows)


if __name__ == "__main__":
    main()
