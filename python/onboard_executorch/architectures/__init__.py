"""Per-architecture conversion from Hugging Face checkpoints to ExecuTorch's Llama transformer.

ExecuTorch's `export_llm` builds every decoder it knows (Llama, Qwen, Phi, LFM2...)
from one module, `examples/models/llama`, configured by a params.json; the
architecture lives in that file's flags and in the weight names. Each module here
turns one Hugging Face architecture's config.json and state dict into exactly that:
`params(config, state_dict)` and `to_meta(state_dict, params)`. A family whose layers
ExecuTorch lacks may also define `register_modules()`, called before the export.
"""

import importlib
import pkgutil

# Every module here but `common` is one family; found by listing, so adding a family changes
# no other file (the export key hashes this file, `common` and the family an export uses).
FAMILIES = tuple(
    importlib.import_module(f"{__name__}.{module.name}")
    for module in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name)
    if module.name != "common"
)


def for_config(config: dict):
    """The family whose Hugging Face architecture the config names, or None."""
    architectures = config.get("architectures") or []
    model_type = config.get("model_type")
    for family in FAMILIES:
        if any(name in family.ARCHITECTURES for name in architectures) or model_type == family.MODEL_TYPE:
            return family
    return None


def for_model_class(model_class: str):
    """The family an ExecuTorch model class (LlmConfig.base.model_class) belongs to."""
    for family in FAMILIES:
        if model_class in family.MODEL_CLASSES:
            return family
    return None


def supported() -> str:
    return ", ".join(name for family in FAMILIES for name in family.ARCHITECTURES)
