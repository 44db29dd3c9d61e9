#!/usr/bin/env python3
"""Independent float64 reference of the LLaMA forward pass for the golden test in test_model.cpp.

Written from the HF LlamaForCausalLM definition (not from the C++ code): RMSNorm, rotary embedding
in the rotate-half convention, causal softmax attention scaled by 1/sqrt(head_dim), SwiGLU MLP,
pre-norm residual blocks, final norm, untied LM head, next-token cross-entropy averaged over the
targets that are not -100.

Regenerate the numbers in test_model.cpp:
  cmake --build <build> --target export_golden_weights
  <build>/tests/model/export_golden_weights golden_weights.txt
  python3 tests/model/golden/llama_reference.py golden_weights.txt
The model shape, inputs and targets below repeat golden_model.hpp.
"""
import sys

import numpy as np

HEADS = 2
EPS = 1e-6
THETA = 10000.0
BATCH, SEQ = 2, 7
INPUTS = np.array([5, 17, 36, 0, 17, 9, 22, 31, 2, 2, 14, 28, 7, 1]).reshape(BATCH, SEQ)
TARGETS = np.array([17, 36, 0, 17, 9, 22, -100, 2, 2, 14, 28, 7, 1, -100]).reshape(BATCH, SEQ)
# (batch, position) rows and the first vocabulary entries whose logits the test checks.
CHECKED_ROWS = [(0, 0), (0, 6), (1, 3), (1, 6)]
CHECKED_VOCAB = 8


def read_weights(path):
    weights = {}
    with open(path) as f:
        tokens = f.read().split()
    k = 0
    while k < len(tokens):
        name, rows, cols = tokens[k], int(tokens[k + 1]), int(tokens[k + 2])
        k += 3
        values = np.array([float(x) for x in tokens[k:k + rows * cols]], dtype=np.float64)
        k += rows * cols
        weights[name] = values.reshape(rows, cols)
    return weights


def rms_norm(x, w):
    return x / np.sqrt(np.mean(x * x, axis=-1, keepdims=True) + EPS) * w.reshape(-1)


def rotate_half(x):
    half = x.shape[-1] // 2
    return np.concatenate([-x[..., half:], x[..., :half]], axis=-1)


def rope(x):  # x [batch, heads, seq, head_dim]
    d = x.shape[-1]
    inv_freq = THETA ** (-np.arange(0, d, 2, dtype=np.float64) / d)
    angles = np.outer(np.arange(x.shape[2], dtype=np.float64), inv_freq)  # [seq, d/2]
    emb = np.concatenate([angles, angles], axis=-1)
    return x * np.cos(emb) + rotate_half(x) * np.sin(emb)


def attention(x, w, layer):
    p = f"model.layers.{layer}.self_attn."
    b, s, h = x.shape
    d = h // HEADS

    def heads(t):
        return t.reshape(b, s, HEADS, d).transpose(0, 2, 1, 3)

    q = rope(heads(x @ w[p + "q_proj.weight"].T))
    k = rope(heads(x @ w[p + "k_proj.weight"].T))
    v = heads(x @ w[p + "v_proj.weight"].T)
    scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(d)
    scores = np.where(np.tril(np.ones((s, s), dtype=bool)), scores, -np.inf)
    probs = np.exp(scores - scores.max(axis=-1, keepdims=True))
    probs /= probs.sum(axis=-1, keepdims=True)
    out = (probs @ v).transpose(0, 2, 1, 3).reshape(b, s, h)
    return out @ w[p + "o_proj.weight"].T


def mlp(x, w, layer):
    p = f"model.layers.{layer}.mlp."
    gate = x @ w[p + "gate_proj.weight"].T
    up = x @ w[p + "up_proj.weight"].T
    return (gate / (1.0 + np.exp(-gate)) * up) @ w[p + "down_proj.weight"].T


def forward(w):
    x = w["model.embed_tokens.weight"][INPUTS]
    layers = 1 + max(int(n.split(".")[2]) for n in w if n.startswith("model.layers."))
    for l in range(layers):
        x = x + attention(rms_norm(x, w[f"model.layers.{l}.input_layernorm.weight"]), w, l)
        x = x + mlp(rms_norm(x, w[f"model.layers.{l}.post_attention_layernorm.weight"]), w, l)
    return rms_norm(x, w["model.norm.weight"]) @ w["lm_head.weight"].T


def mean_loss(logits):
    lse = np.log(np.exp(logits - logits.max(-1, keepdims=True)).sum(-1)) + logits.max(-1)
    mask = TARGETS != -100
    picked = np.take_along_axis(logits, np.where(mask, TARGETS, 0)[..., None], -1)[..., 0]
    return float(((lse - picked) * mask).sum() / mask.sum())


def main():
    logits = forward(read_weights(sys.argv[1]))
    print(f"constexpr double kGoldenLoss = {mean_loss(logits):.9g};")
    print(f"// logits[b, s, 0:{CHECKED_VOCAB}] for (b, s) in {CHECKED_ROWS}")
    print("const double kGoldenLogits[][%d] = {" % CHECKED_VOCAB)
    for b, s in CHECKED_ROWS:
        print("    {" + ", ".join(f"{v:.9g}" for v in logits[b, s, :CHECKED_VOCAB]) + "},")
    print("};")


if __name__ == "__main__":
    main()
