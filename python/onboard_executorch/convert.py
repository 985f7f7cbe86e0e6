"""Turn a source checkpoint into what ExecuTorch's Llama exporter reads.

Sources: a Hugging Face model directory (config.json, safetensors, tokenizer.json),
a GGUF file (dequantized by transformers' GGUF loader), or a Meta-format
checkpoint with its params.json. Output: a Meta-format state dict (.pth), a
params.json, a tokenizer.json, and the facts the manifest needs.
"""

import glob
import json
import os
from dataclasses import dataclass

import torch

# Architectures whose weights map onto ExecuTorch's Llama transformer.
SUPPORTED_ARCHITECTURES = ("LlamaForCausalLM",)


class ConvertError(Exception):
    def __init__(self, code: str, message: str, hint: str):
        super().__init__(message)
        self.code = code
        self.hint = hint


@dataclass
class Converted:
    checkpoint: str
    params: str
    tokenizer: str
    vocab_size: int
    bos_id: int
    eos_ids: list


def convert(source: dict, work_dir: str) -> Converted:
    kind = source["kind"]
    if kind == "gguf":
        config, state_dict, tokenizer = _from_gguf(source["path"], work_dir)
    elif kind == "hf-dir":
        config, state_dict, tokenizer = _from_hf_dir(source["path"])
    elif kind == "meta":
        return _from_meta(source)
    else:
        raise ConvertError("EXPORT_SOURCE_UNSUPPORTED", f"Unknown source kind {kind}", "Pass a Hugging Face directory, a .gguf file or a Meta .pth checkpoint.")

    _check_architecture(config)
    params = _params_from_config(config)
    meta = _hf_to_meta(state_dict, params)

    checkpoint = os.path.join(work_dir, "checkpoint.pth")
    torch.save(meta, checkpoint)
    params_path = os.path.join(work_dir, "params.json")
    with open(params_path, "w") as f:
        json.dump(params, f, indent=2)
    tokenizer_path = os.path.join(work_dir, "tokenizer.json")
    if tokenizer != tokenizer_path:
        with open(tokenizer, "rb") as src, open(tokenizer_path, "wb") as dst:
            dst.write(src.read())

    eos = config.get("eos_token_id")
    eos_ids = eos if isinstance(eos, list) else [eos]
    return Converted(
        checkpoint=checkpoint,
        params=params_path,
        tokenizer=tokenizer_path,
        vocab_size=params["vocab_size"],
        bos_id=int(config.get("bos_token_id", eos_ids[0])),
        eos_ids=[int(e) for e in eos_ids],
    )


def _from_gguf(path: str, work_dir: str):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    directory, name = os.path.split(os.path.abspath(path))
    config = AutoConfig.from_pretrained(directory, gguf_file=name).to_dict()
    model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
    tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    tokenizer_dir = os.path.join(work_dir, "hf-tokenizer")
    tokenizer.save_pretrained(tokenizer_dir)
    if not config.get("architectures"):
        config["architectures"] = [type(model).__name__]
    return config, model.state_dict(), os.path.join(tokenizer_dir, "tokenizer.json")


def _from_hf_dir(path: str):
    from safetensors.torch import load_file

    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        raise ConvertError("EXPORT_SOURCE_INCOMPLETE", f"{path} has no config.json", "Pass a Hugging Face model directory (config.json, *.safetensors, tokenizer.json).")
    with open(config_path) as f:
        config = json.load(f)
    _check_architecture(config)
    files = sorted(glob.glob(os.path.join(path, "*.safetensors")))
    if not files:
        raise ConvertError("EXPORT_SOURCE_INCOMPLETE", f"{path} has no .safetensors weights", "Download the model's safetensors files into the directory.")
    tokenizer = os.path.join(path, "tokenizer.json")
    if not os.path.isfile(tokenizer):
        raise ConvertError("EXPORT_SOURCE_INCOMPLETE", f"{path} has no tokenizer.json", "Download the model's tokenizer.json into the directory.")
    state_dict = {}
    for file in files:
        state_dict.update(load_file(file))
    return config, state_dict, tokenizer


def _from_meta(source: dict) -> Converted:
    with open(source["params"]) as f:
        params = json.load(f)
    if "vocab_size" not in params:
        raise ConvertError("EXPORT_PARAMS_INVALID", f"{source['params']} has no vocab_size", "Add vocab_size to params.json.")
    return Converted(
        checkpoint=source["path"],
        params=source["params"],
        tokenizer=source["tokenizer"],
        vocab_size=int(params["vocab_size"]),
        bos_id=int(source.get("bos_id", 1)),
        eos_ids=[int(e) for e in source.get("eos_ids", [2])],
    )


def _check_architecture(config: dict) -> None:
    architectures = config.get("architectures") or []
    model_type = config.get("model_type")
    if not any(a in SUPPORTED_ARCHITECTURES for a in architectures) and model_type != "llama":
        raise ConvertError(
            "EXPORT_ARCHITECTURE_UNSUPPORTED",
            f"Architecture {architectures or model_type} cannot be converted for ExecuTorch's Llama exporter",
            f"Supported: {', '.join(SUPPORTED_ARCHITECTURES)} (SmolLM2, Llama 3.x). See docs/model-preparation.md.",
        )


def _params_from_config(config: dict) -> dict:
    heads = config["num_attention_heads"]
    params = {
        "dim": config["hidden_size"],
        "n_layers": config["num_hidden_layers"],
        "n_heads": heads,
        "n_kv_heads": config.get("num_key_value_heads", heads),
        "vocab_size": config["vocab_size"],
        "hidden_dim": config["intermediate_size"],
        "norm_eps": config.get("rms_norm_eps", 1e-5),
        "rope_theta": config.get("rope_theta", 10000.0),
        "use_scaled_rope": False,
    }
    head_dim = config.get("head_dim")
    if head_dim and head_dim != config["hidden_size"] // heads:
        params["head_dim"] = head_dim
    scaling = config.get("rope_scaling") or {}
    if scaling.get("rope_type", scaling.get("type")) == "llama3":
        params["use_scaled_rope"] = True
        params["rope_scale_factor"] = int(scaling.get("factor", 8))
        params["high_freq_factor"] = int(scaling.get("high_freq_factor", 4))
    return params


_LAYER_NAMES = {
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


def _hf_to_meta(state_dict: dict, params: dict) -> dict:
    """Rename Hugging Face Llama weights to Meta's names.

    Hugging Face stores q and k permuted for its rotate-half RoPE; Meta's
    layout (which ExecuTorch's default RoPE expects) interleaves the pairs,
    so those two are permuted back.
    """
    meta = {}
    for name, tensor in state_dict.items():
        tensor = tensor.to(torch.float32)
        if name == "model.embed_tokens.weight":
            meta["tok_embeddings.weight"] = tensor
        elif name == "model.norm.weight":
            meta["norm.weight"] = tensor
        elif name == "lm_head.weight":
            meta["output.weight"] = tensor
        elif name.startswith("model.layers."):
            _, _, index, rest = name.split(".", 3)
            if rest not in _LAYER_NAMES:
                continue
            if rest == "self_attn.q_proj.weight":
                tensor = _unpermute(tensor, params["n_heads"])
            elif rest == "self_attn.k_proj.weight":
                tensor = _unpermute(tensor, params["n_kv_heads"])
            meta[f"layers.{index}.{_LAYER_NAMES[rest]}"] = tensor
    if "output.weight" not in meta:
        # Tied embeddings: the output projection shares the embedding matrix.
        meta["output.weight"] = meta["tok_embeddings.weight"]
    return meta


def _unpermute(weight: torch.Tensor, heads: int) -> torch.Tensor:
    rows, cols = weight.shape
    return weight.view(heads, 2, rows // heads // 2, cols).transpose(1, 2).reshape(rows, cols).contiguous()
