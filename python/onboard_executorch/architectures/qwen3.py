"""Qwen 3 (Qwen3ForCausalLM): RMSNorm on each head's q and k before RoPE; rotate-half RoPE."""

from .common import LAYER, TOP, base_params, rename

ARCHITECTURES = ("Qwen3ForCausalLM",)
MODEL_TYPE = "qwen3"
MODEL_CLASSES = ("qwen3_0_6b", "qwen3_1_7b", "qwen3_4b")

_LAYER = {
    **LAYER,
    "self_attn.q_norm.weight": "attention.q_norm_fn.weight",
    "self_attn.k_norm.weight": "attention.k_norm_fn.weight",
}


def params(config: dict, state_dict: dict) -> dict:
    result = {**base_params(config, state_dict), "use_hf_rope": True, "use_qk_norm": True, "qk_norm_before_rope": True}
    # Qwen 3's heads are wider than hidden_size / heads (0.6B: 1024 / 16 = 64, heads of 128).
    result["head_dim"] = config.get("head_dim") or config["hidden_size"] // config["num_attention_heads"]
    return result


def to_meta(state_dict: dict, params: dict) -> dict:
    return rename(state_dict, TOP, _LAYER)
