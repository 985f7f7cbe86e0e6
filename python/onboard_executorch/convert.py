"""Turn a source checkpoint into what ExecuTorch's Llama exporter reads.

Sources: a Hugging Face model directory (config.json, safetensors, tokenizer.json),
a GGUF file (dequantized by transformers' GGUF loader), or a Meta-format
checkpoint with its params.json. Output: a Meta-format state dict (.pth), a
params.json, a tokenizer.json, and the facts the manifest needs.
"""

import glob
import json
import os
from contextlib import contextmanager
from dataclasses import dataclass

import torch

from . import architectures


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
    # The transformers model the weights were read with (a GGUF source, or a smoothed one), kept so the quality check
    # compares against it without loading the source a second time; None when none was loaded.
    model: object = None


def convert(source: dict, work_dir: str, model_class: str = None, smooth_alpha: float = None) -> Converted:
    """`smooth_alpha`: fold activation outliers into the weights first (smoothing.py), for
    8-bit dynamic activations; a Llama-family Hugging Face or GGUF source only."""
    kind = source["kind"]
    model = None
    if kind == "gguf":
        config, model, tokenizer = _from_gguf(source["path"], work_dir)
        state_dict = model.state_dict()
    elif kind == "hf-dir":
        config, state_dict, tokenizer = _from_hf_dir(source["path"])
    elif kind == "meta":
        if smooth_alpha is not None:
            raise ConvertError("EXPORT_SOURCE_UNSUPPORTED", "quantization.smooth_alpha needs the model's activations, which a Meta .pth checkpoint gives no model to run for", "Export from the Hugging Face directory or the GGUF, or remove quantization.smooth_alpha.")
        return _from_meta(source)
    else:
        raise ConvertError("EXPORT_SOURCE_UNSUPPORTED", f"Unknown source kind {kind}", "Pass a Hugging Face directory, a .gguf file or a Meta .pth checkpoint.")

    family = _family(config, model_class)
    if smooth_alpha is not None:
        state_dict, model = _smoothed(config, state_dict, model, source, tokenizer, family, smooth_alpha)
    try:
        params = family.params(config, state_dict)
    except (KeyError, ValueError) as error:
        raise ConvertError("EXPORT_SOURCE_INVALID", f"config.json cannot be read as {family.ARCHITECTURES[0]}: {error}", "Check the checkpoint's config.json against its architecture.") from error
    meta = family.to_meta(state_dict, params)

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
        model=model,
    )


def _smoothed(config: dict, state_dict: dict, model, source: dict, tokenizer: str, family, alpha: float):
    """The smoothed state dict, and the transformers model it was calibrated on (loaded here for a
    Hugging Face directory, then kept for the quality check, which would load it again)."""
    from tokenizers import Tokenizer

    from .smoothing import CALIBRATION_TEXT, activation_maxima, smooth

    if family.MODEL_TYPE != "llama":  # the config check refuses this first; a GGUF may still surprise
        raise ConvertError(
            "EXPORT_SOURCE_UNSUPPORTED",
            f"quantization.smooth_alpha is implemented for Llama-family checkpoints, not {family.ARCHITECTURES[0]}",
            "Remove quantization.smooth_alpha from the config.",
        )
    if model is None:  # a Hugging Face directory: the calibration pass needs the model itself
        from .parity import _load_transformers

        model = _load_transformers(source["path"])
    model.eval()
    ids = Tokenizer.from_file(tokenizer).encode(CALIBRATION_TEXT, add_special_tokens=False).ids
    return smooth(state_dict, activation_maxima(model, ids), config, alpha), model


def _from_gguf(path: str, work_dir: str):
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    directory, name = os.path.split(os.path.abspath(path))
    with _one_gguf_reader():
        config = AutoConfig.from_pretrained(directory, gguf_file=name).to_dict()
        model = AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)
        tokenizer = AutoTokenizer.from_pretrained(directory, gguf_file=name)
    tokenizer_dir = os.path.join(work_dir, "hf-tokenizer")
    tokenizer.save_pretrained(tokenizer_dir)
    if not config.get("architectures"):
        config["architectures"] = [type(model).__name__]
    return config, model, os.path.join(tokenizer_dir, "tokenizer.json")


@contextmanager
def _one_gguf_reader():
    """transformers parses the whole GGUF (every metadata array, the vocabulary's included) for
    the config, again for the model's config, its weights and the tokenizer: a third of a
    conversion. The reader only reads (the file is memory-mapped), so the four share one.
    Mapping the weights' names builds gguf's name table for the architecture once per module of
    the model (7 s of a SmolLM2 export); the table is only looked up, so those share one too."""
    import functools

    import gguf

    make_reader, make_name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    readers = {}

    def shared_reader(path, *args, **kwargs):
        key = (os.path.abspath(path), args, tuple(sorted(kwargs.items())))
        if key not in readers:
            readers[key] = make_reader(path, *args, **kwargs)
        return readers[key]

    gguf.GGUFReader, gguf.get_tensor_name_map = shared_reader, functools.cache(make_name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = make_reader, make_name_map


def _from_hf_dir(path: str):
    from safetensors.torch import load_file

    config_path = os.path.join(path, "config.json")
    if not os.path.isfile(config_path):
        raise ConvertError("EXPORT_SOURCE_INCOMPLETE", f"{path} has no config.json", "Pass a Hugging Face model directory (config.json, *.safetensors, tokenizer.json).")
    with open(config_path) as f:
        config = json.load(f)
    _family(config, None)
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


def _family(config: dict, model_class):
    family = architectures.for_config(config)
    names = config.get("architectures") or config.get("model_type")
    if family is None:
        raise ConvertError(
            "EXPORT_ARCHITECTURE_UNSUPPORTED",
            f"Architecture {names} cannot be converted for ExecuTorch's exporter",
            f"Supported: {architectures.supported()}. See docs/model-preparation.md.",
        )
    if model_class and model_class not in family.MODEL_CLASSES:
        raise ConvertError(
            "EXPORT_ARCHITECTURE_MISMATCH",
            f"The checkpoint is {names}, but base.model_class is {model_class}",
            f"Set base.model_class to one of {', '.join(family.MODEL_CLASSES)}.",
        )
    return family
