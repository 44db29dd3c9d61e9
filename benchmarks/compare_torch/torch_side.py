"""The PyTorch side of compare_torch.py, run in its own process (so that its peak resident memory
is its own): trains transformers' LlamaForCausalLM, loaded from galore-train's exported initial
weights, on the batches galore-train recorded, with torch.optim.AdamW or galore_torch's GaLore
optimizers, and prints one JSON line with the loss and wall time of every step.

    python torch_side.py SPEC.json

SPEC holds: weights (exported HF directory), batches (.npy, int32 [steps, micro-batches,
micro_batch, seq + 1]), threads, optimizer, per_layer, lr, betas, eps, rank, update_gap, scale,
proj_type. Optimizers: adamw (torch.optim.AdamW), galore_adamw, galore_adamw8bit, and
adamw_uncorrected_eps (galore_torch's AdamW rule with nothing projected: eps is added to the
uncorrected sqrt(v), as galore-kokkos does).
"""

import json
import resource
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def peak_rss_mib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def load_model(weights_dir):
    """Builds the model from config.json and copies the weights in one tensor at a time, so the
    process never holds a second copy of the model (from_pretrained may)."""
    from safetensors import safe_open
    from transformers import LlamaConfig, LlamaForCausalLM

    config = LlamaConfig.from_pretrained(weights_dir)
    config._attn_implementation = "sdpa"
    model = LlamaForCausalLM(config).float()
    params = dict(model.named_parameters())
    loaded = set()
    with safe_open(f"{weights_dir}/model.safetensors", framework="pt") as f:
        for name in f.keys():
            with torch.no_grad():
                params[name].copy_(f.get_tensor(name))
            loaded.add(name)
    missing = set(params) - loaded
    if missing:
        raise RuntimeError(f"weights missing from the export: {sorted(missing)}")
    return model


def is_projected(name, param):
    # galore_torch's training script projects the 2-D weights of the attention and MLP modules.
    return param.dim() == 2 and ("self_attn" in name or "mlp" in name)


def make_optimizers(spec, model):
    """One optimizer for all parameters, or (per_layer) one per parameter, as galore_torch's README
    does for layer-wise updates."""
    name = spec["optimizer"]
    common = dict(lr=spec["lr"], betas=tuple(spec["betas"]), eps=spec["eps"], weight_decay=0.0)
    galore = dict(rank=spec["rank"], update_proj_gap=spec["update_gap"], scale=spec["scale"],
                  proj_type=spec["proj_type"])
    if name == "adamw":
        make = torch.optim.AdamW
    elif name in ("galore_adamw", "adamw_uncorrected_eps"):
        from galore_torch import GaLoreAdamW as make
    elif name == "galore_adamw8bit":
        from galore_torch import GaLoreAdamW8bit as make
        if not torch.cuda.is_available():
            # galore_torch's AdamW8bit.step calls torch.cuda.synchronize() unconditionally, which
            # raises without a GPU; on the CPU there is nothing to synchronise.
            torch.cuda.synchronize = lambda *args, **kwargs: None
    else:
        raise ValueError(f"unknown optimizer {name}")
    named = list(model.named_parameters())
    if name in ("adamw", "adamw_uncorrected_eps"):
        groups_of = lambda ps: [{"params": [p for _, p in ps]}]
    else:
        def groups_of(ps):
            plain = [p for n, p in ps if not is_projected(n, p)]
            projected = [p for n, p in ps if is_projected(n, p)]
            groups = [{"params": plain}] if plain else []
            return groups + ([dict(params=projected, **galore)] if projected else [])
    if not spec["per_layer"]:
        return [make(groups_of(named), **common)]
    optimizers = {}
    for n, p in named:
        optimizers[p] = make(groups_of([(n, p)]), **common)

    def step_in_backward(p):
        optimizers[p].step()
        optimizers[p].zero_grad(set_to_none=True)

    for _, p in named:
        p.register_post_accumulate_grad_hook(step_in_backward)
    return []


def main():
    with open(sys.argv[1]) as f:
        spec = json.load(f)
    torch.set_num_threads(spec["threads"])
    rss_after_import = peak_rss_mib()
    batches = torch.from_numpy(np.load(spec["batches"]).astype(np.int64))
    model = load_model(spec["weights"])
    model.train()
    optimizers = make_optimizers(spec, model)
    steps, micro_batches = batches.shape[0], batches.shape[1]
    losses, seconds = [], []
    for s in range(steps):
        start = time.perf_counter()
        step_loss = 0.0
        for window in batches[s]:
            logits = model(input_ids=window[:, :-1]).logits
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]),
                                   window[:, 1:].reshape(-1)) / micro_batches
            loss.backward()
            step_loss += loss.item()
        for optimizer in optimizers:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        seconds.append(time.perf_counter() - start)
        losses.append(step_loss)
    print(json.dumps({"losses": losses, "seconds": seconds,
                      "rss_after_import_mib": rss_after_import}))


if __name__ == "__main__":
    main()
