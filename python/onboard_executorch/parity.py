"""Teacher-forced top-1 agreement between a .pte and Hugging Face transformers.

Usage: python -m onboard_executorch.parity <file.pte> <tokenizer.json> <source> [text file]
       python -m onboard_executorch.parity --top1 <file.pte> <tokenizer.json> <source>
         (source: the .gguf or the Hugging Face directory the .pte was exported from)
         (the token ids, and the top-1 per position of the .pte and of transformers, for
         comparing with other engines: `npm run bench:parity`)

Both models see the same tokens. At each position, the .pte (fed one token at
a time through its KV cache) and transformers (one pass over the whole
sequence, same weights, dequantized when the source is a GGUF) each pick their most likely
next token; the figure is the share of positions where they agree. Prints JSON.
"""

import json
import os
import sys

import torch
from executorch.runtime import Runtime
from tokenizers import Tokenizer

DEFAULT_TEXT = (
    "The history of the automobile begins in the late nineteenth century, when engineers in Germany and France "
    "built the first vehicles powered by internal combustion engines. Within a few decades, mass production "
    "made cars affordable, and roads, fuel stations and traffic rules spread across the world. Today, electric "
    "drivetrains and software are changing the car again: a modern vehicle carries dozens of computers, and "
    "the dashboard has become a screen that can answer questions, plan a route and play music on request."
)


def _model_type(directory: str) -> str:
    with open(os.path.join(directory, "config.json")) as f:
        return json.load(f).get("model_type", "")


def reference_top1(source: str, ids: list, model=None) -> torch.Tensor:
    """transformers' top-1 per position, on a GGUF (dequantized) or a Hugging Face directory, or on
    `model` when the caller has the source loaded already."""
    if model is None and os.path.isdir(source) and _model_type(source) == "motif":
        # transformers has no Motif: the reference is our eager module (architectures/motif/reference.py).
        from .architectures.motif.reference import MotifForCausalLM

        with torch.no_grad():
            return MotifForCausalLM.from_directory(source)(torch.tensor([ids]))[0].argmax(-1)
    if model is None:
        model = _load_transformers(source)
    model.eval()
    with torch.no_grad():
        return model(torch.tensor([ids])).logits[0].argmax(-1)


def _load_transformers(source: str):
    from transformers import AutoModelForCausalLM

    if os.path.isdir(source):
        return AutoModelForCausalLM.from_pretrained(source, dtype=torch.float32)
    directory, name = os.path.split(os.path.abspath(source))
    return AutoModelForCausalLM.from_pretrained(directory, gguf_file=name, dtype=torch.float32)


def pte_top1(pte_path: str, ids: list) -> torch.Tensor:
    from .kernels import register_llm_kernels

    register_llm_kernels()
    method = Runtime.get().load_program(pte_path).load_method("forward")
    tops = []
    for position, token in enumerate(ids):
        logits = method.execute([torch.tensor([[token]], dtype=torch.long), torch.tensor([position], dtype=torch.long)])[0]
        tops.append(int(logits.reshape(-1, logits.shape[-1])[-1].argmax()))
    return torch.tensor(tops)


def text_ids(tokenizer_path: str, text: str, max_positions: int = None) -> list:
    return Tokenizer.from_file(tokenizer_path).encode(text, add_special_tokens=False).ids[:max_positions]


def parity(pte_path: str, tokenizer_path: str, gguf_path: str, text: str, max_positions: int = None, reference=None) -> dict:
    """`reference`: transformers' top-1 on the same ids, when the caller computed it already."""
    ids = text_ids(tokenizer_path, text, max_positions)
    ours = pte_top1(pte_path, ids)
    if reference is None:
        reference = reference_top1(gguf_path, ids)
    agree = int((ours == reference).sum())
    return {"positions": len(ids), "agree": agree, "top1_agreement": agree / len(ids)}


def main(argv: list) -> None:
    if argv[0] == "--top1":
        ids = Tokenizer.from_file(argv[2]).encode(DEFAULT_TEXT, add_special_tokens=False).ids
        print(json.dumps({"ids": ids, "pte": pte_top1(argv[1], ids).tolist(), "transformers": reference_top1(argv[3], ids).tolist()}))
        return
    text = open(argv[3]).read() if len(argv) > 3 else DEFAULT_TEXT
    print(json.dumps(parity(argv[0], argv[1], argv[2], text)))


if __name__ == "__main__":
    main(sys.argv[1:])
