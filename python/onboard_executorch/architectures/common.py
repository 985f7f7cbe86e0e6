"""What every family's conversion shares: the common params, renaming, tied embeddings."""

import re

import torch


def base_params(config: dict, state_dict: dict) -> dict:
    """The params.json keys every decoder has. The FFN width comes from the weights, which
    is what the checkpoint really holds (LFM2's config, for one, declares a width it then adjusts)."""
    heads = config["num_attention_heads"]
    params = {
        "dim": config["hidden_size"],
        "n_layers": config["num_hidden_layers"],
        "n_heads": heads,
        "n_kv_heads": config.get("num_key_value_heads") or heads,
        "vocab_size": config["vocab_size"],
        "hidden_dim": ffn_width(state_dict) or config["intermediate_size"],
        "norm_eps": config.get("rms_norm_eps", config.get("norm_eps", 1e-5)),
        "rope_theta": float(config.get("rope_theta") or 10000.0),
        "use_scaled_rope": False,
    }
    head_dim = config.get("head_dim")
    if head_dim and head_dim != config["hidden_size"] // heads:
        params["head_dim"] = head_dim
    return params


def ffn_width(state_dict: dict):
    for name, tensor in state_dict.items():
        if name.endswith(("mlp.down_proj.weight", "feed_forward.w2.weight")):
            return int(tensor.shape[1])
    return None


_LAYER = re.compile(r"^model\.layers\.(\d+)\.(.+)$")


def rename(state_dict: dict, top: dict, layer: dict, split=None) -> dict:
    """Meta names for Hugging Face ones. `top` maps whole names, `layer` maps the part after
    `model.layers.<i>.`; `split(rest, tensor)` may return several (suffix, tensor) pairs for a
    fused weight. Names in neither table are dropped (rotary caches and the like)."""
    meta = {}
    for name, tensor in state_dict.items():
        tensor = tensor.to(torch.float32)
        if name in top:
            meta[top[name]] = tensor
            continue
        match = _LAYER.match(name)
        if not match:
            continue
        index, rest = match.groups()
        pieces = split(rest, tensor) if split else None
        for suffix, piece in pieces or [(rest, tensor)]:
            if suffix in layer:
                meta[f"layers.{index}.{layer[suffix]}"] = piece
    return tie_output(meta)


def tie_output(meta: dict) -> dict:
    if "output.weight" not in meta:
        # Tied embeddings: the output projection shares the embedding matrix.
        meta["output.weight"] = meta["tok_embeddings.weight"]
    return meta


# The names most families share: the Llama layout under Hugging Face's names.
TOP = {"model.embed_tokens.weight": "tok_embeddings.weight", "model.norm.weight": "norm.weight", "lm_head.weight": "output.weight"}
LAYER = {
    "self_attn.q_proj.weight": "attention.wq.weight",
    "self_attn.k_proj.weight": "attention.wk.weight",
    "self_attn.v_proj.weight": "attention.wv.weight",
    "self_attn.o_proj.weight": "attention.wo.weight",
    "mlp.gate_proj.weight": "feed_forward.w1.weight",
    "mlp.down_proj.weight": "feed_forward.w2.weight",
    "mlp.up_proj.weight": "feed_forward.w3.weight",
    "input_layernorm.weight": "attention_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
}
