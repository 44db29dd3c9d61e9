#!/usr/bin/env python3
"""Plot training and validation loss from a galore-train metrics.jsonl into a PNG.

usage: scripts/plot_metrics.py OUTPUT_DIR/metrics.jsonl [-o loss.png]

Needs matplotlib (Debian: apt-get install python3-matplotlib; or pip install matplotlib).
"""
import argparse
import json
import os
import sys


def read_metrics(path):
    train, evals = [], []
    with open(path) as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as e:
                sys.exit(f"{path}:{number}: not a JSON line ({e})")
            if record.get("type") == "train":
                train.append((record["step"], record["loss"]))
            elif record.get("type") == "eval":
                evals.append((record["step"], record["val_loss"], record.get("unigram_entropy")))
    return train, evals


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("metrics", help="metrics.jsonl written by galore-train")
    parser.add_argument("-o", "--output", default=None, help="PNG path (default: beside metrics)")
    args = parser.parse_args()
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("matplotlib is missing: apt-get install python3-matplotlib (or pip install matplotlib)")

    train, evals = read_metrics(args.metrics)
    if not train and not evals:
        sys.exit(f"{args.metrics}: no train or eval records")
    output = args.output or os.path.join(os.path.dirname(args.metrics), "loss.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    if train:
        ax.plot([s for s, _ in train], [l for _, l in train], label="training loss", lw=1)
    if evals:
        ax.plot([s for s, _, _ in evals], [l for _, l, _ in evals], "o-", label="validation loss")
        baseline = evals[-1][2]
        if baseline is not None:
            ax.axhline(baseline, color="gray", ls="--", label=f"unigram baseline {baseline:.3f}")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("cross-entropy (nats)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(output, dpi=120)
    print(output)


if __name__ == "__main__":
    main()
