"""SmoothQuant-style smoothing: move activation outliers into the weights before 8-bit dynamic
activation quantization (8da8w, 8da4w), without changing what the float model computes.

XNNPACK's quantized linears quantize each token's activations to 8 bits with one scale per
token, so a few channels with large values (they exist at every linear's input in these
models) leave little precision for the rest. For a linear y = W x, scaling input channel j by
1/s_j and column j of W by s_j gives the same y; the 1/s_j is folded into whatever produces x:
the RMSNorm weight before q/k/v, gate/up and the head, v's output rows before o (per KV
head's channel), up's output rows before down. s_j = max|x_j|^alpha / max|W_:j|^(1-alpha)
(Xiao et al., 2023), with the activation maxima measured on a calibration text that is not
the quality text the export is measured on.

Works on a Hugging Face Llama state dict (LlamaForCausalLM names), before conversion.
"""

import torch

CALIBRATION_TEXT = (
    "A lighthouse keeper once lived alone on a rocky island far from the coast. Every evening he climbed "
    "the stairs, cleaned the great lens and lit the lamp, and every morning he wrote the weather in a "
    "thick book. Ships passed in the night, and their captains trusted the light without ever seeing "
    "the man. Q: What is 17 times 23? A: 391. Q: Name three primary colours. A: Red, yellow and blue. "
    "def area(radius):\n    return 3.14159 * radius ** 2\n\nprint(area(2.0))\n"
    "Dear customer, your order #48213 has shipped and should arrive within 3-5 business days. "
    "If you have questions, reply to this message or call us at +1 555 0100. "
    "La plupart des gens préfèrent le café le matin; 多くの人は朝にコーヒーを飲みます。"
)

# The norm before each group of linears that share its output.
_NORM_GROUPS = (
    ("input_layernorm", ("self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj")),
    ("post_attention_layernorm", ("mlp.gate_proj", "mlp.up_proj")),
)


def activation_maxima(model, ids: list) -> dict:
    """max |x_j| over the calibration tokens at the input of every linear, by module name."""
    maxima, hooks = {}, []
    for name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear):
            def hook(_module, inputs, _output, name=name):
                x = inputs[0].detach().reshape(-1, inputs[0].shape[-1]).abs().amax(dim=0).float()
                maxima[name] = torch.maximum(maxima[name], x) if name in maxima else x

            hooks.append(module.register_forward_hook(hook))
    try:
        with torch.no_grad():
            model(torch.tensor([ids]))
    finally:
        for handle in hooks:
            handle.remove()
    return maxima


def _scales(x_max: torch.Tensor, weights: list, alpha: float) -> torch.Tensor:
    return _migration(x_max, torch.stack([w.abs().amax(dim=0).float() for w in weights]).amax(dim=0), alpha)


def _migration(x_max: torch.Tensor, w_max: torch.Tensor, alpha: float) -> torch.Tensor:
    """s_j = max|x_j|^alpha / max|W_:j|^(1-alpha), kept away from zero."""
    return (x_max.clamp(min=1e-5).pow(alpha) / w_max.clamp(min=1e-5).pow(1 - alpha)).clamp(min=1e-5)


def smooth(state_dict: dict, maxima: dict, config: dict, alpha: float) -> dict:
    """A new state dict with the scales folded in, in float32 (a bf16 checkpoint would round the
    scaled weights once more); the given one is left untouched (its head may be its embedding)."""
    sd = {name: tensor.to(torch.float32, copy=True) if tensor.is_floating_point() else tensor for name, tensor in state_dict.items()}
    layers = config["num_hidden_layers"]
    heads, kv_heads = config["num_attention_heads"], config.get("num_key_value_heads", config["num_attention_heads"])
    head_dim = config.get("head_dim") or config["hidden_size"] // heads
    for i in range(layers):
        prefix = f"model.layers.{i}."
        for norm, linears in _NORM_GROUPS:
            weights = [sd[f"{prefix}{linear}.weight"] for linear in linears]
            s = _scales(maxima[f"{prefix}{linears[0]}"], weights, alpha)
            sd[f"{prefix}{norm}.weight"] /= s
            for linear in linears:
                sd[f"{prefix}{linear}.weight"] *= s
        # o_proj's input channel (head h, dim d) is v's output row (h's KV head, d): one scale per v row.
        group = heads // kv_heads
        o = sd[f"{prefix}self_attn.o_proj.weight"]
        x_max = maxima[f"{prefix}self_attn.o_proj"].view(kv_heads, group, head_dim).amax(dim=1).reshape(-1)
        w_max_cols = o.abs().float().view(o.shape[0], kv_heads, group, head_dim).amax(dim=(0, 2)).reshape(-1)
        s = _migration(x_max, w_max_cols, alpha)
        sd[f"{prefix}self_attn.v_proj.weight"] /= s[:, None]
        if f"{prefix}self_attn.v_proj.bias" in sd:
            sd[f"{prefix}self_attn.v_proj.bias"] /= s
        sd[f"{prefix}self_attn.o_proj.weight"] *= s.view(kv_heads, 1, head_dim).expand(kv_heads, group, head_dim).reshape(1, -1)
        # down_proj's input is silu(gate) * up: scaling up's output rows scales it.
        s = _scales(maxima[f"{prefix}mlp.down_proj"], [sd[f"{prefix}mlp.down_proj.weight"]], alpha)
        sd[f"{prefix}mlp.up_proj.weight"] /= s[:, None]
        sd[f"{prefix}mlp.down_proj.weight"] *= s
    # The head: the final norm's output. A tied head gets a weight of its own (the embedding keeps its rows).
    head = sd.get("lm_head.weight", sd["model.embed_tokens.weight"]).clone()
    s = _scales(maxima["lm_head"], [head], alpha)
    sd["model.norm.weight"] /= s
    sd["lm_head.weight"] = head * s
    return sd
