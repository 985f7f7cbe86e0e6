"""Export a checkpoint to a .pte with ExecuTorch's own LLM exporter, then verify it.

Usage: python -m onboard_executorch.export <job.json>

The job is written by `onboard export` after it validated the user's YAML, so
this module trusts its shape. Stages and the result go to fd 3 (events.py);
everything the exporter prints goes to stdout/stderr, which the CLI keeps in
the export log.
"""

import json
import logging
import os
import sys
import traceback
from importlib.metadata import version

from . import architectures, events, speedups
from .convert import ConvertError, convert

_QMODES = {"8da4w": "8da4w", "8da8w": "8da8w", "int8": "int8", "none": None}


def build_llm_config(job: dict, converted, family) -> "LlmConfig":  # noqa: F821
    from executorch.extension.llm.export.config.llm_config import DtypeOverride, LlmConfig, ModelType

    model, backend, quant = job["model"], job["backend"], job["quantization"]
    config = LlmConfig()
    # A family ExecuTorch does not name exports under the class of the transformer it builds on.
    config.base.model_class = ModelType(getattr(family, "EXECUTORCH_MODEL_CLASS", job["model_class"]))
    config.base.checkpoint = converted.checkpoint
    config.base.params = converted.params
    config.base.tokenizer_path = converted.tokenizer
    config.base.metadata = json.dumps({"get_bos_id": converted.bos_id, "get_eos_ids": converted.eos_ids})

    config.model.use_kv_cache = model["use_kv_cache"]
    config.model.use_sdpa_with_kv_cache = model["use_sdpa_with_kv_cache"]
    config.model.enable_dynamic_shape = model["enable_dynamic_shape"]
    config.model.dtype_override = DtypeOverride(model["dtype"])

    config.export.max_seq_length = model["max_seq_length"]
    config.export.max_context_length = model["max_context_length"]
    config.export.output_dir = job["output_dir"]
    config.export.output_name = job["output_name"]

    config.quantization.qmode = _QMODES[quant["qmode"]]
    if quant["qmode"] in ("8da4w", "8da8w"):
        config.quantization.group_size = quant["group_size"]
    if quant.get("embedding_quantize"):
        config.quantization.embedding_quantize = quant["embedding_quantize"]

    config.backend.xnnpack.enabled = backend["xnnpack"]["enabled"]
    config.backend.xnnpack.extended_ops = backend["xnnpack"]["extended_ops"]
    config.backend.vulkan.enabled = backend["vulkan"]["enabled"]
    config.backend.qnn.enabled = backend["qnn"]["enabled"]
    if backend["qnn"].get("soc_model"):
        config.backend.qnn.soc_model = backend["qnn"]["soc_model"]
    return config


def run(job: dict) -> dict:
    events.stage("convert", f"reading {job['source']['kind']} {job['source']['path']}")
    converted = convert(job["source"], job["work_dir"], job["model_class"], job["quantization"].get("smooth_alpha"))
    verify_job = job["verify"]
    # What quantization kept: the program against transformers on the source's weights. The chain
    # ranks a model's artifacts by it (a .pth source has no transformers model to compare with).
    # transformers' side is computed now, on the model convert loaded, which is then let go.
    measure_quality = verify_job["run"] and job["model"]["use_kv_cache"] and job["source"]["kind"] in ("gguf", "hf-dir")
    reference = None
    if measure_quality:
        from .parity import DEFAULT_TEXT, reference_top1, text_ids

        events.stage("verify", "transformers' top-1 choices on the quality text, on the weights convert read")
        ids = text_ids(converted.tokenizer, DEFAULT_TEXT, job["model"]["max_seq_length"])
        reference = reference_top1(job["source"]["path"], ids, converted.model)
    converted.model = None

    family = architectures.for_model_class(job["model_class"])
    if hasattr(family, "register_modules"):
        family.register_modules()
    events.stage("export", "ExecuTorch LLM exporter: export, quantize, lower, serialize")
    if not os.environ.get("ONBOARD_EXPORT_NO_SPEEDUPS"):
        speedups.apply()
    from executorch.examples.models.llama.export_llama_lib import export_llama

    pte_path = export_llama(build_llm_config(job, converted, family))

    verification = None
    if verify_job["run"]:
        events.stage("verify", "loading the .pte in the ExecuTorch runtime and running a fixed prompt")
        from .verify import verify

        verification = verify(pte_path, converted.tokenizer, verify_job["prompt"], verify_job["new_tokens"], job["model"]["use_kv_cache"])

    quality = None
    if measure_quality:
        events.stage("verify", "teacher-forced top-1 agreement with transformers on the source's weights")
        from .parity import DEFAULT_TEXT, parity

        quality = parity(pte_path, converted.tokenizer, job["source"]["path"], DEFAULT_TEXT, job["model"]["max_seq_length"], reference)

    return {
        "pte": os.path.abspath(pte_path),
        "tokenizer": converted.tokenizer,
        "vocab_size": converted.vocab_size,
        "bos_id": converted.bos_id,
        "eos_ids": converted.eos_ids,
        "verification": verification,
        "quality": quality,
        "versions": {name: version(name) for name in ("executorch", "torch", "torchao", "transformers")},
    }


def main() -> int:
    logging.basicConfig(level=logging.INFO, stream=sys.stdout, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    with open(sys.argv[1]) as f:
        job = json.load(f)
    try:
        events.result(**run(job))
        return 0
    except ConvertError as error:
        events.failure(error.code, str(error), error.hint)
        return 1
    except Exception as error:  # the exporter raises many kinds; the log keeps the traceback
        traceback.print_exc()
        events.failure("EXPORT_FAILED", f"{type(error).__name__}: {error}", "")
        return 1


if __name__ == "__main__":
    sys.exit(main())
