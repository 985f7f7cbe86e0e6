"""Llama 3.x and SmolLM2 (LlamaForCausalLM): ExecuTorch's own RoPE, in Meta's interleaved layout."""

import torch

from .common import LAYER, TOP, base_params, rename

ARCHITECTURES = ("LlamaForCausalLM",)
MODEL_TYPE = "llama"
MODEL_CLASSES = ("smollm2", "llama3_2", "llama3_1", "llama3")


def params(config: dict, state_dict: dict) -> dict:
    result = base_params(config, state_dict)
    scaling = config.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type")) == "llama3":
        result["use_scaled_rope"] = True
        result["rope_scale_factor"] = int(scaling.get("factor", 8))
        result["high_freq_factor"] = int(scaling.get("high_freq_factor", 4))
    return result


def to_meta(state_dict: dict, params: dict) -> dict:
    """Hugging Face stores q and k permuted for its rotate-half RoPE; Meta's layout (which
    ExecuTorch's default RoPE expects) interleaves the pairs, so those two are permuted back."""
    meta = rename(state_dict, TOP, LAYER)
    for name in list(meta):
        if name.endswith("attention.wq.weight"):
            meta[name] = _unpermute(meta[name], params["n_heads"])
        elif name.endswith("attention.wk.weight"):
            meta[name] = _unpermute(meta[name], params["n_kv_heads"])
    return meta


def _unpermute(weight: torch.Tensor, heads: int) -> torch.Tensor:
    rows, cols = weight.shape
    return weight.view(heads, 2, rows // heads // 2, cols).transpose(1, 2).reshape(rows, cols).contiguous()
