"""Smoothing changes what 8-bit activation quantization loses, not what the float model computes.

A small random Llama (grouped-query attention, tied head) in transformers: after smoothing, its
logits are the original's within float rounding, the embedding is untouched, and the largest
activation channel at every smoothed linear's input is smaller relative to the channels' mean.
Prints "ok" or raises. Usage: python smoothing_check.py
"""

import copy
import sys

import torch
from transformers import LlamaConfig, LlamaForCausalLM

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else "python")
from onboard_executorch.smoothing import activation_maxima, smooth  # noqa: E402

torch.manual_seed(0)
config = LlamaConfig(vocab_size=300, hidden_size=64, intermediate_size=160, num_hidden_layers=3, num_attention_heads=8, num_key_value_heads=2, tie_word_embeddings=True)
model = LlamaForCausalLM(config).eval()
with torch.no_grad():  # outlier channels, as trained models have
    for layer in model.model.layers:
        layer.input_layernorm.weight[[3, 17]] = 25.0
        layer.post_attention_layernorm.weight[[9]] = 40.0
ids = torch.randint(0, 300, (1, 48))
maxima = activation_maxima(model, ids[0].tolist())
smoothed_dict = smooth(model.state_dict(), maxima, config.to_dict(), 0.4)

smoothed = copy.deepcopy(model)
smoothed.config.tie_word_embeddings = False
smoothed.lm_head.weight = torch.nn.Parameter(smoothed_dict["lm_head.weight"].clone())
smoothed.load_state_dict(smoothed_dict, strict=True)
with torch.no_grad():
    before, after = model(ids).logits, smoothed(ids).logits
difference = (after - before).abs().max().item()
assert difference < 1e-4 * before.abs().max().item(), f"logits moved by {difference}"
assert torch.equal(smoothed.model.embed_tokens.weight, model.model.embed_tokens.weight), "the embedding changed"

after_maxima = activation_maxima(smoothed, ids[0].tolist())
for name, x in maxima.items():
    if name.endswith(("q_proj", "gate_proj")):
        spread_before = (x.max() / x.mean()).item()
        spread_after = (after_maxima[name].max() / after_maxima[name].mean()).item()
        assert spread_after < spread_before, f"{name}: outlier spread {spread_before:.1f} -> {spread_after:.1f}"
print("ok")
