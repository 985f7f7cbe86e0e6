"""Motif 2.6B (MotifForCausalLM, Motif Technologies, arXiv:2508.09148): differential attention
and PolyNorm, which ExecuTorch's transformer lacks.

- `reference.py`: our eager PyTorch model under the published checkpoint's names, written from
  the papers; transformers has no Motif, so every export is checked against this one.
- `export_modules.py`: the same architecture as pieces of ExecuTorch's Llama transformer, with
  a static KV cache; `register_modules` adds them before the export.
"""

from ..common import TOP, base_params, rename

ARCHITECTURES = ("MotifForCausalLM",)
MODEL_TYPE = "motif"
MODEL_CLASSES = ("motif_2_6b",)
# ExecuTorch names no Motif class; it builds on the Llama transformer, exported under this one.
EXECUTORCH_MODEL_CLASS = "llama3"

_LAYER = {
    "self_attn.q_proj.weight": "attention.wq.weight",
    "self_attn.k_proj.weight": "attention.wk.weight",
    "self_attn.v_proj.weight": "attention.wv.weight",
    "self_attn.o_proj.weight": "attention.wo.weight",
    "self_attn.lambda_q1": "attention.lambda_q1",
    "self_attn.lambda_k1": "attention.lambda_k1",
    "self_attn.lambda_q2": "attention.lambda_q2",
    "self_attn.lambda_k2": "attention.lambda_k2",
    "self_attn.subln.weight": "attention.subln.weight",
    "mlp.gate_proj.weight": "feed_forward.w1.weight",
    "mlp.down_proj.weight": "feed_forward.w2.weight",
    "mlp.up_proj.weight": "feed_forward.w3.weight",
    "mlp.act_fn.weight": "feed_forward.act.weight",
    "mlp.act_fn.bias": "feed_forward.act.bias",
    "input_layernorm.weight": "attention_norm.weight",
    "post_attention_layernorm.weight": "ffn_norm.weight",
}


def params(config: dict, state_dict: dict) -> dict:
    if config["num_attention_heads"] % 2 or config["num_key_value_heads"] % 2:
        raise ValueError("differential attention pairs its heads: num_attention_heads and num_key_value_heads must be even")
    if config.get("num_noise_heads") is not None:
        raise ValueError("grouped differential attention (Motif-2 12.7B, num_noise_heads) is not supported; Motif 2.6B's plain differential attention is")
    return {
        **base_params(config, state_dict),
        "use_hf_rope": True,
        "attention_type": "motif_differential",
        "attention_kwargs": {"attn_rms_norm_eps": config.get("attn_rms_norm_eps", 1e-5)},
    }


def to_meta(state_dict: dict, params: dict) -> dict:
    return rename(state_dict, TOP, _LAYER)


def register_modules() -> None:
    from .export_modules import register

    register()
