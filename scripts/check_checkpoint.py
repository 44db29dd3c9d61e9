#!/usr/bin/env python3
"""Reads a galore-kokkos checkpoint with h5py (the layout of docs/checkpoints.md) and checks it.

    python3 scripts/check_checkpoint.py run/checkpoints/step-000000001000.h5 \
        [--safetensors exported.safetensors]

Checks: the format attributes; every weight under its HF name with the shape the model
attributes imply and finite values (bfloat16 weights are stored as uint16 and widened here);
one GaLore projector: its attributes, its shape against its weight's, and orthonormal rows or
columns; optionally, that an exported safetensors file holds the same weights byte for byte.
Exit status 0 when every check passes, 1 otherwise. Needs h5py and numpy.
"""
import argparse
import json
import struct
import sys

import h5py
import numpy as np


def as_float32(dataset):
    """A weight as float32: bfloat16 is the high half of a float32."""
    data = dataset[()]
    if dataset.attrs["dtype"] == b"bfloat16":
        return (data.astype(np.uint32) << 16).view(np.float32)
    return data.astype(np.float32)


def expected_shapes(model):
    """HF LLaMA names and shapes implied by the /model attributes."""
    h = int(model.attrs["hidden_size"])
    i = int(model.attrs["intermediate_size"])
    v = int(model.attrs["vocab_size"])
    shapes = {"model.embed_tokens.weight": (v, h), "model.norm.weight": (h,),
              "lm_head.weight": (v, h)}
    for layer in range(int(model.attrs["num_hidden_layers"])):
        p = f"model.layers.{layer}."
        shapes[p + "input_layernorm.weight"] = (h,)
        shapes[p + "post_attention_layernorm.weight"] = (h,)
        for name in ("q_proj", "k_proj", "v_proj", "o_proj"):
            shapes[p + f"self_attn.{name}.weight"] = (h, h)
        shapes[p + "mlp.gate_proj.weight"] = (i, h)
        shapes[p + "mlp.up_proj.weight"] = (i, h)
        shapes[p + "mlp.down_proj.weight"] = (h, i)
    return shapes


def check_projector(f, failures):
    for name, group in f["optimizer"].items():
        for side in ("galore.left", "galore.right"):
            if side not in group:
                continue
            basis = group[side]
            weight = f["model"][name].shape
            rank = int(basis.attrs["rank"])
            expected = (weight[0], rank) if side == "galore.left" else (rank, weight[1])
            if basis.shape != expected:
                failures.append(f"{name}/{side}: shape {basis.shape}, expected {expected}")
            if basis.attrs["side"].decode() != side.split(".")[1]:
                failures.append(f"{name}/{side}: side attribute {basis.attrs['side']}")
            q = as_float32(basis).astype(np.float64)
            gram = q.T @ q if side == "galore.left" else q @ q.T
            error = np.abs(gram - np.eye(rank)).max()
            if group.attrs["step"] > 0 and error > 0.05:  # bf16 bases round to ~1e-2
                failures.append(f"{name}/{side}: not orthonormal (max |G - I| = {error:.3g})")
            print(f"projector {name}/{side}: {basis.shape}, rank {rank}, "
                  f"T {int(basis.attrs['update_gap'])}, alpha {float(basis.attrs['scale'])}, "
                  f"computed at parameter step {int(basis.attrs['refresh_step'])}, "
                  f"max |G - I| {error:.2e}")
            return
    failures.append("no GaLore projector in /optimizer")


def check_safetensors(path, f, failures):
    with open(path, "rb") as stream:
        (length,) = struct.unpack("<Q", stream.read(8))
        header = json.loads(stream.read(length))
        data = stream.read()
    for name, dataset in f["model"].items():
        entry = header.get(name)
        if entry is None:
            failures.append(f"{path}: no tensor {name}")
            continue
        begin, end = entry["data_offsets"]
        if tuple(entry["shape"]) != dataset.shape or data[begin:end] != dataset[()].tobytes():
            failures.append(f"{path}: {name} differs from the checkpoint")
    print(f"safetensors {path}: {len(header) - 1} tensors match the checkpoint")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("checkpoint")
    parser.add_argument("--safetensors", help="an export of the same checkpoint to compare")
    args = parser.parse_args()
    failures = []
    with h5py.File(args.checkpoint, "r") as f:
        if f.attrs["format"] != b"galore-kokkos checkpoint":
            failures.append(f"format attribute is {f.attrs['format']!r}")
        print(f"{args.checkpoint}: format version {int(f.attrs['format_version'])}, "
              f"library {f.attrs['library_version'].decode()}, step {int(f.attrs['step'])}, "
              f"{len(f['run'].attrs['config_toml'])} bytes of run config")
        model = f["model"]
        shapes = expected_shapes(model)
        if set(model.keys()) != set(shapes):
            failures.append(f"weights {sorted(set(model.keys()) ^ set(shapes))} unexpected/missing")
        for name, shape in shapes.items():
            if name in model:
                if model[name].shape != shape:
                    failures.append(f"{name}: shape {model[name].shape}, expected {shape}")
                elif not np.isfinite(as_float32(model[name])).all():
                    failures.append(f"{name}: non-finite values")
        print(f"weights: {len(model)} tensors, {model.attrs['dtype'].decode()}, "
              f"{int(model.attrs['parameter_count'])} parameters")
        check_projector(f, failures)
        if args.safetensors:
            check_safetensors(args.safetensors, f, failures)
    for failure in failures:
        print("FAILED:", failure, file=sys.stderr)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
