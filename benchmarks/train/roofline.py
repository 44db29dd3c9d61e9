#!/usr/bin/env python3
"""Roofline of galore-train: achieved FLOP/s of a training step against the same run's GEMM peak.

Each configuration is one galore-train process (GaLore-AdamW at the paper's rank, the built-in
corpus, no checkpoints). galore-train measures the practical fp32 GEMM peak of this machine before
training and writes it, with the model FLOPs per token, to summary.json; every metrics.jsonl step
carries tokens/s and the step's wall time split by phase (the built-in phase timers). The table
gives, over the steps after the first (the first recomputes every GaLore subspace):
  achieved FLOP/s = tokens/s x FLOPs/token, as a fraction of the GEMM peak;
  the time of a step by phase (percent);
  the subspace refresh of the first step, in seconds and amortised over update_gap steps.

usage: roofline.py [--quick] [--markdown FILE] [--galore-train PATH]
  --quick          9m preset, seq 64, 2 steps (seconds; the ctest smoke run)
  --markdown FILE  also write the table as a Markdown fragment, and a PNG of the phase split next
                   to it (FILE with .png), when matplotlib is installed
"""
import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile

PAPER_RANK = {"9m": 32, "20m": 64, "60m": 128, "130m": 256, "350m": 256}
UPDATE_GAP = 200  # galore-train's default optimizer.update_gap
STEP_PHASES = ["forward", "backward", "optimizer", "communication", "io", "other"]
REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


class Config:
    def __init__(self, preset, dtype, steps, seq, ranks=1, refresh="svd"):
        self.preset, self.dtype, self.steps, self.seq = preset, dtype, steps, seq
        self.ranks, self.refresh = ranks, refresh

    def label(self):
        return (f"{self.preset} {self.dtype}" + (f" x{self.ranks} ranks" if self.ranks > 1 else "")
                + (f" {self.refresh}" if self.refresh != "svd" else ""))


def full_configs():
    configs = [Config(p, "fp32", 3, 256) for p in ["20m", "60m", "130m", "350m"]]
    configs += [Config(p, "bf16", 3, 256) for p in ["20m", "60m"]]
    configs.append(Config("130m", "fp32", 3, 256, refresh="randomized"))
    if shutil.which("mpiexec"):  # communication shows only with several ranks
        configs.append(Config("20m", "fp32", 3, 256, ranks=2))
    return configs


def default_galore_train():
    built = os.path.join(REPO, "build", "apps", "galore-train", "galore-train")
    return built if os.path.exists(built) else shutil.which("galore-train")


def run(galore_train, config, threads, workdir):
    out = os.path.join(workdir, config.label().replace(" ", "-"))
    args = [galore_train, f"--model.preset={config.preset}", f"--model.dtype={config.dtype}",
            "--optimizer.name=galore_adamw", f"--optimizer.rank={PAPER_RANK[config.preset]}",
            f"--optimizer.update_gap={UPDATE_GAP}", f"--optimizer.refresh={config.refresh}",
            "--batch.micro_batch=1",
            f"--batch.global_batch={config.ranks}", f"--batch.seq_len={config.seq}",
            f"--run.steps={config.steps}", "--run.eval_interval=0",
            f"--run.eval_tokens={config.seq}", f"--run.threads={max(1, threads // config.ranks)}",
            f"--run.output_dir={out}", "--checkpoint.at_exit=false",
            f"--checkpoint.interval_steps={config.steps + 1}"]
    if config.ranks > 1:
        args = ["mpiexec", "--allow-run-as-root", "--oversubscribe", "-np",
                str(config.ranks)] + args
    result = subprocess.run(args, capture_output=True, text=True)
    if result.returncode != 0:
        print(f"skipped {config.label()}: galore-train failed ({result.returncode}): "
              f"{shlex.join(args)}\n{result.stderr[-2000:]}", file=sys.stderr)
        return None
    with open(os.path.join(out, "metrics.jsonl")) as f:
        steps = [r for r in map(json.loads, f) if r["type"] == "train"]
    with open(os.path.join(out, "summary.json")) as f:
        summary = json.load(f)
    return analyse(config, steps, summary)


def analyse(config, steps, summary):
    steady = steps[1:] or steps
    step_seconds = [sum(s["phase_seconds"].values()) for s in steady]
    mean_step = statistics.mean(step_seconds)
    tokens_per_s = statistics.median(s["tokens_per_s"] for s in steady)
    achieved = tokens_per_s * summary["flops_per_token"]
    refresh = steps[0]["phase_seconds"]["refresh"]
    # Every rank measures the peak of its own threads; the ranks together can reach the sum.
    peak = summary["gemm_peak_flops"] * config.ranks
    return {
        "label": config.label(),
        "tokens_per_s": tokens_per_s,
        "step_seconds": mean_step,
        "achieved": achieved,
        "peak": peak,
        "fraction": achieved / peak,
        "phases": {p: 100 * statistics.mean(s["phase_seconds"][p] for s in steady) / mean_step
                   for p in STEP_PHASES},
        "refresh_seconds": refresh,
        "refresh_amortised": 100 * refresh / UPDATE_GAP / mean_step,
    }


def table(rows):
    lines = ["| run | tokens/s | step s | GFLOP/s | GEMM peak GFLOP/s | of peak | "
             + " | ".join(STEP_PHASES) + " | refresh s (step 1) | refresh / T=200 |",
             "|---" * (8 + len(STEP_PHASES)) + "|"]
    for r in rows:
        lines.append(
            f"| {r['label']} | {r['tokens_per_s']:.0f} | {r['step_seconds']:.2f} | "
            f"{r['achieved'] / 1e9:.1f} | {r['peak'] / 1e9:.1f} | {100 * r['fraction']:.1f}% | "
            + " | ".join(f"{r['phases'][p]:.1f}%" for p in STEP_PHASES)
            + f" | {r['refresh_seconds']:.2f} | {r['refresh_amortised']:.2f}% |")
    return "\n".join(lines)


def machine():
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    # Other work on the machine lowers both the peak and the step; the ratio suffers less.
    load = os.getloadavg()[0]
    shared = (" (shared with other work: rates are lower and noisier than on an idle machine)"
              if load > os.cpu_count() else "")
    return (f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}, "
            f"load average {load:.1f} at the start{shared}")


def plot(rows, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"matplotlib is not installed: no plot ({path})", file=sys.stderr)
        return False
    fig, ax = plt.subplots(figsize=(9, 0.6 * len(rows) + 1.6))
    labels = [r["label"] for r in rows]
    left = [0.0] * len(rows)
    for phase in STEP_PHASES + ["refresh / T"]:
        widths = [r["refresh_amortised"] if phase == "refresh / T" else r["phases"][phase]
                  for r in rows]
        ax.barh(labels, widths, left=left, label=phase)
        left = [a + b for a, b in zip(left, widths)]
    for i, r in enumerate(rows):
        ax.text(left[i] + 1, i, f"{100 * r['fraction']:.0f}% of GEMM peak", va="center")
    ax.invert_yaxis()
    ax.set_xlim(0, 135)
    ax.set_xlabel("time of a training step by phase (%)")
    ax.set_title("galore-train: phase split and achieved FLOP/s / GEMM peak")
    ax.legend(ncol=4, fontsize="small", loc="lower center", bbox_to_anchor=(0.5, 1.08))
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    print(f"plot: {path}")
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="9m preset, seq 64, 2 steps (CI)")
    parser.add_argument("--markdown", metavar="FILE", help="write the Markdown fragment here")
    parser.add_argument("--galore-train", default=default_galore_train(), metavar="PATH")
    args = parser.parse_args()
    if not args.galore_train:
        sys.exit("galore-train not found: build it or pass --galore-train PATH")
    configs = [Config("9m", "fp32", 2, 64)] if args.quick else full_configs()
    threads = os.cpu_count()
    description = machine()

    header = (f"GaLore-AdamW (paper rank, update_gap {UPDATE_GAP}, exact SVD refresh unless the "
              f"run says randomized), batch 1 x seq "
              f"{configs[0].seq} per rank, {threads} threads in all, {configs[0].steps} steps; "
              f"figures over steps 2..{configs[0].steps}")
    print(header, flush=True)
    rows = []
    with tempfile.TemporaryDirectory() as workdir:
        for config in configs:
            row = run(args.galore_train, config, threads, workdir)
            if row:
                rows.append(row)
                print(f"{row['label']}: {100 * row['fraction']:.1f}% of GEMM peak", flush=True)
    if not rows:
        sys.exit("no configuration ran")
    print(table(rows))
    if args.markdown:
        command = "python3 benchmarks/train/roofline.py" + (" --quick" if args.quick else "") + \
                  f" --markdown {args.markdown}"
        png = os.path.splitext(args.markdown)[0] + ".png"
        # RESULTS.md sits one folder above the fragments and links the plot from there.
        link = ("\n![roofline](" + os.path.basename(os.path.dirname(os.path.abspath(png))) +
                f"/{os.path.basename(png)})\n" if plot(rows, png) else "")
        with open(args.markdown, "w") as f:
            f.write("## Roofline: achieved FLOP/s and time by phase\n\n"
                    f"Machine: {description}. Command: `{command}`\n\n{header}. Achieved FLOP/s = "
                    "tokens/s x model FLOPs per token (6 N + attention); the GEMM peak is the best "
                    "fp32 1024^3 product of galore::gemm measured by the same galore-train run "
                    "(times the rank count with several ranks). "
                    "Phases are percent of a step's wall time (exclusive, from the built-in phase "
                    "timers; backward includes the fused LM-head + cross-entropy, forward and "
                    "backward, which dominates the small presets); the subspace refresh runs once "
                    "every update_gap steps, shown for step 1 and amortised. The model FLOPs leave "
                    "out the optimizer's: GaLore's projection and projection back cost about "
                    "4 m n r per m x n weight, next to 6 m n per token for forward and backward, "
                    "so at a few hundred tokens per step the optimizer's share is large.\n\n"
                    + table(rows) + "\n" + link)
        print(f"markdown: {args.markdown}")


if __name__ == "__main__":
    main()
