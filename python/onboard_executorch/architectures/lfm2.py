"""LFM2 (Lfm2ForCausalLM): a hybrid of gated short-convolution layers and attention layers
with q/k RMSNorm; ExecuTorch builds the conv layers from `layer_types`."""

from .common import base_params, rename

ARCHITECTURES = ("Lfm2ForCausalLM",)
MODEL_TYPE = "lfm2"
MODEL_CLASSES = ("lfm2_350m", "lfm2_700m", "lfm2_1_2b", "lfm2_5_350m", "lfm2_5_1_2b")

# ExecuTorch's ShortConvBlock fixes the convolution's width at 3.
CONV_WIDTH = 3

_TOP = {"model.embed_tokens.weight": "tok_embeddings.weight", "model.embedding_norm.weight": "norm.weight", "lm_head.weight": "output.weight"}
_LAYER = {
    "self_attn.q_proj.weight": "attention.wq.weight",
    "self_attn.k_proj.weight": "attention.wk.weight",
    "self_attn.v_proj.weight": "attention.wv.weight",
    "self_attn.out_proj.weight": "attention.wo.weight",
    "self_attn.q_layernorm.weight": "attention.q_norm_fn.weight",
    "self_attn.k_layernorm.weight": "attention.k_norm_fn.weight",
    "operator_norm.weight": "attention_norm.weight",
    "ffn_norm.weight": "ffn_norm.weight",
    "feed_forward.w1.weight": "feed_forward.w1.weight",
    "feed_forward.w2.weight": "feed_forward.w2.weight",
    "feed_forward.w3.weight": "feed_forward.w3.weight",
    "conv.conv.weight": "conv.conv.weight",
    "conv.out_proj.weight": "conv.out_proj.weight",
    "conv.B_proj.weight": "conv.B_proj.weight",
    "conv.C_proj.weight": "conv.C_proj.weight",
    "conv.x_proj.weight": "conv.x_proj.weight",
}


def params(config: dict, state_dict: dict) -> dict:
    if config.get("conv_L_cache", CONV_WIDTH) != CONV_WIDTH:
        raise ValueError(f"conv_L_cache {config['conv_L_cache']}: ExecuTorch's LFM2 convolution has width {CONV_WIDTH}")
    layer_types = config.get("layer_types") or ["full_attention" if i in config.get("full_attn_idxs", []) else "conv" for i in range(config["num_hidden_layers"])]
    return {
        **base_params(config, state_dict),
        "use_hf_rope": True,
        "use_qk_norm": True,
        "qk_norm_before_rope": True,
        "layer_types": layer_types,
    }


def _split(rest: str, tensor):
    # ExecuTorch keeps the gate (B), the output gate (C) and the input (x) as three projections.
    if rest == "conv.in_proj.weight":
        b, c, x = tensor.chunk(3)
        return [("conv.B_proj.weight", b), ("conv.C_proj.weight", c), ("conv.x_proj.weight", x)]
    return None


def to_meta(state_dict: dict, params: dict) -> dict:
    return rename(state_dict, _TOP, _LAYER, _split)
