"""Phi-4-mini (Phi3ForCausalLM): fused qkv and gate/up projections, partial rotary
embeddings (75% of each head) and LongRoPE scaling."""

from .common import LAYER, TOP, base_params, rename

ARCHITECTURES = ("Phi3ForCausalLM",)
MODEL_TYPE = "phi3"
MODEL_CLASSES = ("phi_4_mini",)


def params(config: dict, state_dict: dict) -> dict:
    result = {**base_params(config, state_dict), "use_hf_rope": True}
    result["partial_rotary_factor"] = float(config.get("partial_rotary_factor", 1.0))
    scaling = config.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type")) == "longrope":
        result["rope_scaling_short_factor"] = scaling["short_factor"]
        result["rope_scaling_long_factor"] = scaling["long_factor"]
        result["original_max_position_embeddings"] = config["original_max_position_embeddings"]
        result["max_position_embeddings"] = config["max_position_embeddings"]
    return result


def _split(rest: str, tensor):
    if rest == "self_attn.qkv_proj.weight":
        q_rows = tensor.shape[1]  # q has hidden_size rows; k and v share the rest
        kv_rows = (tensor.shape[0] - q_rows) // 2
        q, k, v = tensor.split([q_rows, kv_rows, kv_rows])
        return [("self_attn.q_proj.weight", q), ("self_attn.k_proj.weight", k), ("self_attn.v_proj.weight", v)]
    if rest == "mlp.gate_up_proj.weight":
        gate, up = tensor.chunk(2)
        return [("mlp.gate_proj.weight", gate), ("mlp.up_proj.weight", up)]
    return None


def to_meta(state_dict: dict, params: dict) -> dict:
    return rename(state_dict, TOP, LAYER, _split)
