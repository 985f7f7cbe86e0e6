"""Load a .pte with the ExecuTorch runtime and run the model on a fixed prompt.

This is the guide's "check it loads" step: if the runtime cannot load or run
the program, the export fails loudly instead of shipping a broken file.
"""

import time

import torch
from executorch.runtime import Runtime
from tokenizers import Tokenizer

from .kernels import register_llm_kernels


def registered_backends() -> list:
    from executorch.extension.pybindings import portable_lib

    return sorted(portable_lib._get_registered_backend_names())


def verify(pte_path: str, tokenizer_path: str, prompt: str, new_tokens: int, use_kv_cache: bool) -> dict:
    tokenizer = Tokenizer.from_file(tokenizer_path)
    prompt_ids = tokenizer.encode(prompt, add_special_tokens=False).ids

    register_llm_kernels()
    started = time.monotonic()
    program = Runtime.get().load_program(pte_path)
    method = program.load_method("forward")
    load_s = time.monotonic() - started

    def forward(tokens: list, start: int) -> torch.Tensor:
        inputs = [torch.tensor([tokens], dtype=torch.long)]
        if use_kv_cache:
            inputs.append(torch.tensor([start], dtype=torch.long))
        return method.execute(inputs)[0]

    if use_kv_cache:
        logits = forward(prompt_ids, 0)
        logits_shape = list(logits.shape)
        generated = []
        position = len(prompt_ids)
        for _ in range(new_tokens):
            token = int(logits.reshape(-1, logits.shape[-1])[-1].argmax())
            generated.append(token)
            logits = forward([token], position)
            position += 1
    else:
        tokens = list(prompt_ids)
        logits_shape = list(forward(tokens, 0).shape)
        generated = []
        for _ in range(new_tokens):
            logits = forward(tokens, 0)
            token = int(logits.reshape(-1, logits.shape[-1])[-1].argmax())
            generated.append(token)
            tokens.append(token)

    return {
        "prompt": prompt,
        "prompt_tokens": len(prompt_ids),
        "logits_shape": logits_shape,
        "continuation": tokenizer.decode(generated, skip_special_tokens=False),
        "continuation_ids": generated,
        "load_s": round(load_s, 3),
    }

