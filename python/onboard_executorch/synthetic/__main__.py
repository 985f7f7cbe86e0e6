"""Write a Hugging Face model directory with a published architecture's configuration and
seeded random weights: a synthetic checkpoint that exercises conversion, export, the runtime
and tokenization exactly as real weights would. Its answers mean nothing.

Usage: python -m onboard_executorch.synthetic <arch> <out dir> [--layers N] [--vocab N] [--seed N]
Prints one JSON line: what was written.
"""

import argparse
import json
import os
import sys

from .published import MODELS


def reduce_layers(config: dict, layers: int) -> None:
    config["num_hidden_layers"] = layers
    if "max_window_layers" in config:
        config["max_window_layers"] = min(config["max_window_layers"], layers)
    if config.get("layer_types"):
        kinds = config["layer_types"][:layers]
        if "full_attention" not in kinds:
            kinds[-1] = "full_attention"  # keep both kinds of a hybrid at any depth
        config["layer_types"] = kinds


def vary_flat_parameters(network) -> None:
    """Transformers starts norms at one and biases at zero. Left so, a norm applied on the wrong
    side of RoPE (rotations keep a vector's norm) or a dropped bias would change nothing, and
    parity could not catch it; seeded noise makes every weight matter."""
    import torch

    with torch.no_grad():
        for name, parameter in network.named_parameters():
            if parameter.dim() != 1:
                continue
            if name.endswith("bias"):
                parameter.normal_(0.0, 0.1)
            elif "lambda_" in name:
                continue  # Motif's differential-attention lambdas start random already
            else:
                parameter.copy_(1.0 + 0.2 * torch.randn_like(parameter))


def _motif(raw: dict, out_dir: str):
    """transformers has no Motif: our reference module makes and saves it, under the published names."""
    import torch

    from ..architectures.motif.reference import MotifForCausalLM

    network = MotifForCausalLM(raw)
    with torch.no_grad():
        for parameter in network.parameters():
            if parameter.dim() == 2:
                parameter.normal_(0.0, raw["initializer_range"])
    vary_flat_parameters(network)
    network.save(out_dir)
    with open(os.path.join(out_dir, "config.json"), "w") as f:
        json.dump(raw, f, indent=2)
    return network


def make(arch: str, out_dir: str, layers=None, vocab=None, seed: int = 0) -> dict:
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    from .tokenizer import build

    model = MODELS[arch]
    raw = json.loads(json.dumps(model["config"]))
    if layers:
        reduce_layers(raw, layers)
    if vocab:
        raw["vocab_size"] = vocab
    os.makedirs(out_dir, exist_ok=True)
    ids = build(model["tokenizer"], raw["vocab_size"], out_dir)
    spec = model["tokenizer"]
    raw["bos_token_id"] = ids.get(spec.get("bos"), ids[spec["eos"][-1]])
    raw["eos_token_id"] = [ids[token] for token in spec["eos"]]
    if spec.get("pad"):
        raw["pad_token_id"] = ids[spec["pad"]]

    torch.manual_seed(seed)
    if raw["model_type"] == "motif":
        network = _motif(raw, out_dir)
    else:
        config = AutoConfig.for_model(raw.pop("model_type"), **{k: v for k, v in raw.items() if k != "architectures"})
        config.architectures = raw["architectures"]
        network = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
        vary_flat_parameters(network)
        network.save_pretrained(out_dir, safe_serialization=True)

    parameters = sum(p.numel() for p in network.parameters())
    facts = {
        "synthetic": True,
        "architecture": arch,
        "shape_of": model["published"],
        "model_class": model["model_class"],
        "layers": raw["num_hidden_layers"],
        "vocab_size": raw["vocab_size"],
        "parameters": parameters,
        "seed": seed,
        "note": "Random weights in a published model's shape: it runs like the real model and says nothing useful.",
    }
    with open(os.path.join(out_dir, "synthetic.json"), "w") as f:
        json.dump(facts, f, indent=2)
    return {**facts, "path": os.path.abspath(out_dir)}


def main(argv: list) -> int:
    parser = argparse.ArgumentParser(prog="python -m onboard_executorch.synthetic")
    parser.add_argument("arch", choices=sorted(MODELS))
    parser.add_argument("out")
    parser.add_argument("--layers", type=int)
    parser.add_argument("--vocab", type=int)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print(json.dumps(make(args.arch, args.out, args.layers, args.vocab, args.seed)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
