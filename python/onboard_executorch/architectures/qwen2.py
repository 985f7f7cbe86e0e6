"""Qwen 2.5 (Qwen2ForCausalLM): biases on q, k and v; Hugging Face's rotate-half RoPE."""

from .common import LAYER, TOP, base_params, rename

ARCHITECTURES = ("Qwen2ForCausalLM",)
MODEL_TYPE = "qwen2"
MODEL_CLASSES = ("qwen2_5_0_5b", "qwen2_5_1_5b", "qwen2_5_coder_32b")

_LAYER = {
    **LAYER,
    "self_attn.q_proj.bias": "attention.wq.bias",
    "self_attn.k_proj.bias": "attention.wk.bias",
    "self_attn.v_proj.bias": "attention.wv.bias",
}


def params(config: dict, state_dict: dict) -> dict:
    return {**base_params(config, state_dict), "use_hf_rope": True, "attention_qkv_bias": True}


def to_meta(state_dict: dict, params: dict) -> dict:
    return rename(state_dict, TOP, _LAYER)
