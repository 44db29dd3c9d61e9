#!/usr/bin/env python3
"""Peak training memory by component, measured by galore-train against galore-memory's estimate.

Each row is one `galore-train --measure-memory` process: two real training steps (the first
computes every GaLore subspace, the second is a plain step) of one 256-token micro-batch, bf16
weights, per-layer weight updates, on the built-in corpus. galore-train writes the measured peak of
each component (weights, gradients, optimizer states, projection matrices, quantization scales,
activations + workspace), the process peak resident memory and the accounting's estimate of the
same run into summary.json ("memory"); this script tabulates them.

  measure_memory.py                 1b with every optimizer (paper rank 512); target: the process
                                    peak within 10% of the estimate
  measure_memory.py --with-7b       also the paper's 7B recipe (examples/llama-7b-24gb.toml: 8-bit
                                    GaLore, rank 1024, per-layer); target: peak below 20 GiB.
                                    One step only (the refresh step holds the peak; a plain step
                                    allocates nothing more): about 20 GiB free and most of an
                                    hour on 2 cores
  measure_memory.py --quick         the 9m preset, seconds (CI smoke test)

Subspace refresh: randomized range finder by default (--refresh svd for the exact SVD, as the
paper: on 2 CPU cores that turns the 7B's first step from about half an hour into hours, and its
LAPACK workspace, several hundred MB for a 11008 x 4096 gradient, adds to the process peak).
A row whose estimate does not fit in the memory available now (or exceeds --max-gib, for a machine
shared with other work) is skipped and reported as such.
--markdown FILE writes the table as a RESULTS.md fragment and memory.png (peak per optimizer)
beside it.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(REPO, "benchmarks"))
from bar_chart import write_bar_chart  # noqa: E402

OPTIMIZERS = ["adamw", "adam8bit", "adafactor", "galore_adamw", "galore_adamw8bit",
              "galore_adafactor"]
COMPONENTS = [("weights", "weights"), ("gradients", "gradients"),
              ("optimizer_states", "optimizer states"), ("projection_matrices", "projections"),
              ("quantization_scales", "quant. scales"),
              ("activations_and_workspace", "activations + workspace")]
GIB = 2 ** 30
MIB = 2 ** 20
# Beyond the estimate a process holds its runtime, libraries, corpus and allocator slack.
RUNTIME_ALLOWANCE = 0.5 * GIB


class Row:
    def __init__(self, name, args, query, target, steps=2):
        self.name = name      # "1b adamw"
        self.args = args      # galore-train arguments after --measure-memory
        self.query = query    # (preset, optimizer, rank, seq): galore-memory's view of the row
        self.target = target  # ("estimate", 0.10) or ("below", bytes)
        self.steps = steps
        self.summary = None
        self.step_seconds = []
        self.wall_seconds = None
        self.skipped = None   # why the row was not run


def rows_for(args):
    common = [f"--run.threads={os.cpu_count()}", f"--optimizer.refresh={args.refresh}"]
    if args.quick:
        presets = [("9m", 32, 64)]
    else:
        presets = [("1b", 512, 256)]
    rows = []
    for preset, rank, seq in presets:
        for optimizer in OPTIMIZERS:
            rows.append(Row(f"{preset} {optimizer}", [
                f"--model.preset={preset}", "--model.dtype=bf16", f"--optimizer.name={optimizer}",
                f"--optimizer.rank={rank}", "--optimizer.per_layer=true",
                "--batch.micro_batch=1", f"--batch.seq_len={seq}", *common],
                (preset, optimizer, rank, seq), ("estimate", 0.10)))
    if args.with_7b:
        rows.append(Row("7b galore_adamw8bit (examples/llama-7b-24gb.toml)", [
            "--config", os.path.join(REPO, "examples", "llama-7b-24gb.toml"), *common],
            ("7b", "galore_adamw8bit", 1024, 256), ("below", 20 * GIB), steps=1))
    return rows


def available_bytes():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return None


def estimate_bytes(galore_memory, row):
    """The accounting's total for the row, from galore-memory (None if it cannot tell)."""
    if not os.path.exists(galore_memory):
        return None
    preset, optimizer, rank, seq = row.query
    cmd = [galore_memory, "--models", preset, "--methods", optimizer, "--rank", str(rank),
           "--per-layer", "on", "--precision", "ours", "--batch", "1", "--seq", str(seq)]
    out = subprocess.run(cmd, capture_output=True, text=True)
    if out.returncode != 0:
        return None
    last = [line for line in out.stdout.splitlines() if line.strip()][-1]
    return float(last.split()[-1]) * 1e9


def run_row(galore_train, row, workdir):
    out = os.path.join(workdir, row.name.split(" (")[0].replace(" ", "-"))
    cmd = [galore_train, f"--measure-memory={row.steps}", *row.args, f"--run.output_dir={out}"]
    print(f"[{row.name}] {' '.join(cmd)}", flush=True)
    start = time.time()
    tail = []
    with subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                          bufsize=1) as proc:
        for line in proc.stdout:  # progress: galore-train reports long steps as they run
            print(f"[{row.name}] {line}", end="", flush=True)
            tail = (tail + [line])[-40:]
    if proc.returncode != 0:
        sys.exit(f"galore-train failed ({proc.returncode}): {' '.join(cmd)}\n{''.join(tail)}")
    row.wall_seconds = time.time() - start
    with open(os.path.join(out + "-memory", "summary.json")) as f:
        row.summary = json.load(f)
    with open(os.path.join(out + "-memory", "metrics.jsonl")) as f:
        for record in map(json.loads, f):
            if record["type"] == "train":  # one micro-batch of one sequence per step
                row.step_seconds.append(row.query[3] / record["tokens_per_s"])


def pct(entry):
    d = entry["relative_difference"]
    return "-" if d is None else f"{100 * d:+.1f}%"


def mib_cell(entry):
    if entry["measured_bytes"] == 0 and entry["estimated_bytes"] == 0:
        return "-"
    value = entry["measured_bytes"] / MIB
    return (f"{value:.1f}" if value < 10 else f"{value:.0f}") + f" ({pct(entry)})"


def verdict(row, quick):
    if quick:  # a tiny model's peak is mostly the runtime: no target
        return "-"
    memory = row.summary["memory"]
    peak = memory["process_peak_resident"]
    kind, value = row.target
    if kind == "estimate":
        ok = abs(peak["relative_difference"]) <= value
        return f"{'yes' if ok else 'NO'} (within {100 * value:.0f}%)"
    ok = peak["measured_bytes"] < value
    return f"{'yes' if ok else 'NO'} (below {value / GIB:.0f} GiB)"


def markdown(rows, args, png):
    seq = rows[0].query[3]
    flags = [f for f, on in (("--quick", args.quick), ("--with-7b", args.with_7b),
                             ("--refresh svd", args.refresh == "svd")) if on]
    command = " ".join(["python3 benchmarks/memory/measure_memory.py", *flags])
    lines = [
        "## Peak training memory by component (issue: benchmarks, memory reproduction)", "",
        "Command (Release build; `galore-train --measure-memory` per row, one at a time):", "",
        f"    {command} --galore-train build/apps/galore-train/galore-train", "",
        "Each row: two real training steps (7B: one; step 1 computes every GaLore subspace, "
        f"{'by exact SVD' if args.refresh == 'svd' else 'by the randomized range finder'}; "
        "step 2 is a plain step) of one micro-batch, bf16 weights, per-layer weight updates, "
        "our precision policy (fp32 gradients and 32-bit moments), on the built-in corpus. "
        "\"estimate\" is galore-memory's accounting of the same run (`galore-memory "
        f"--precision ours --per-layer on --batch 1 --seq {seq}`); \"metered\" is the sum of "
        "the components as the model's AllocationMeter and the optimizer's state tensors "
        "counted them at the model's peak; \"process peak\" is the whole process's high-water "
        "mark (getrusage), which also holds the runtime, libraries, the corpus and temporaries "
        "no meter sees (GEMM packing, the subspace factorisation). GiB = 2^30 bytes. Targets: "
        "the process peak within 10% of the estimate (1B), below 20 GiB (7B).", "",
        "| model | optimizer | process peak GiB | estimate GiB | peak vs estimate | "
        "metered GiB | metered vs estimate | target met | step 1 s | step 2 s | process min |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        preset, optimizer = row.name.split(" ", 1)
        if row.skipped:
            lines.append(f"| {preset} | {optimizer} | skipped: {row.skipped} | | | | | | | | |")
            continue
        m = row.summary["memory"]
        peak, metered = m["process_peak_resident"], m["metered_peak"]
        steps = [f"{s:.1f}" for s in row.step_seconds] + ["-", "-"]
        lines.append(
            f"| {preset} | {optimizer} | {peak['measured_bytes'] / GIB:.2f} | "
            f"{peak['estimated_bytes'] / GIB:.2f} | {pct(peak)} | "
            f"{metered['measured_bytes'] / GIB:.2f} | {pct(metered)} | "
            f"{verdict(row, args.quick)} | "
            f"{steps[0]} | {steps[1]} | {row.wall_seconds / 60:.1f} |")
    lines += ["", "Per component: measured MiB (difference from the estimate).", "",
              "| model | optimizer | " + " | ".join(label for _, label in COMPONENTS) + " |",
              "|---|---|" + "---|" * len(COMPONENTS)]
    for row in rows:
        if row.skipped:
            continue
        preset, optimizer = row.name.split(" ", 1)
        c = row.summary["memory"]["components"]
        cells = [mib_cell(c[key]) for key, _ in COMPONENTS]
        lines.append(f"| {preset} | {optimizer} | " + " | ".join(cells) + " |")
    lines += ["",
              "- Weights, optimizer states, projections and scales are allocated once and match "
              "the accounting exactly; gradients are the largest set live at once (with per-layer "
              "updates: the embedding's, or gate + up, or q + k + v, which the backward pass "
              "completes together).",
              "- The process peak exceeds the metered peak by the runtime and the unmetered "
              "temporaries; that difference is what the 10% target bounds."]
    if png:
        rel = os.path.join(os.path.basename(os.path.dirname(os.path.abspath(args.markdown))),
                           os.path.basename(png))
        lines += ["", f"![peak memory per optimizer]({rel})"]
    elif args.markdown:
        lines += ["", "(plot skipped: matplotlib is not installed)"]
    return "\n".join(lines) + "\n"


def plot(rows, path):
    measured = [r for r in rows if not r.skipped]
    if not measured:
        return False
    labels = [r.name.split(" (")[0] for r in measured]
    mem = [r.summary["memory"] for r in measured]
    return write_bar_chart(
        path, "Peak memory per optimizer: measured vs estimated "
        f"(bf16, per-layer, 1 x {measured[0].query[3]} tokens)",
        "GiB", labels,
        [("process peak", [m["process_peak_resident"]["measured_bytes"] / GIB for m in mem]),
         ("metered", [m["metered_peak"]["measured_bytes"] / GIB for m in mem]),
         ("estimate", [m["metered_peak"]["estimated_bytes"] / GIB for m in mem])])


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="9m preset, seq 64 (CI smoke test)")
    parser.add_argument("--markdown", metavar="FILE", help="write a RESULTS.md fragment")
    parser.add_argument("--galore-train", default=os.path.join(
        REPO, "build", "apps", "galore-train", "galore-train"))
    parser.add_argument("--with-7b", action="store_true",
                        help="also the paper's 7B recipe (about 20 GiB, many minutes)")
    parser.add_argument("--refresh", choices=["randomized", "svd"], default="randomized",
                        help="GaLore subspace refresh (default: randomized; see above)")
    parser.add_argument("--max-gib", type=float,
                        help="skip rows whose estimate exceeds this many GiB (a shared machine)")
    args = parser.parse_args()
    if args.quick and args.with_7b:
        parser.error("--quick and --with-7b exclude each other")
    galore_memory = os.path.join(os.path.dirname(os.path.dirname(args.galore_train)),
                                 "galore-memory", "galore-memory")

    rows = rows_for(args)
    with tempfile.TemporaryDirectory() as workdir:
        for row in rows:
            need = estimate_bytes(galore_memory, row)
            free = available_bytes()
            limit = min(free or float("inf"), (args.max_gib or float("inf")) * GIB)
            if need is not None and need + RUNTIME_ALLOWANCE > limit:
                row.skipped = (f"needs about {(need + RUNTIME_ALLOWANCE) / GIB:.1f} GiB, "
                               f"{free / GIB:.1f} GiB available"
                               + (f", --max-gib {args.max_gib:g}" if args.max_gib else ""))
                print(f"[{row.name}] {row.skipped}", flush=True)
                continue
            run_row(args.galore_train, row, workdir)
    png = None
    if args.markdown:
        png = os.path.join(os.path.dirname(os.path.abspath(args.markdown)), "memory.png")
        if not plot(rows, png):
            png = None
    text = markdown(rows, args, png)
    print(text)
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(text)
    failed = [r.name for r in rows if not r.skipped and "NO" in verdict(r, args.quick)]
    if failed:
        print("target missed: " + ", ".join(failed), file=sys.stderr)


if __name__ == "__main__":
    main()
