"""A synthetic checkpoint as a GGUF, by llama.cpp's own converter: convert_hf_to_gguf.py as the
llama-cpp-python source distribution on PyPI vendors it (the only registry that ships it).

The converter recognises a BPE tokenizer by hashing how it splits a test string and refuses
one it has not seen; a synthetic tokenizer is new by construction, so it is named here by the
published pre-tokenizer it copies (tokenizer.py's SPLITS), which is what that hash stands for.

The converter imports mistral-common at the top (for Mistral's own tokenizers); it is installed
beside the converter, not in the toolchain's venv, so the exporter's pinned environment stays as it is.

Usage: python -m onboard_executorch.synthetic.gguf <converter dir> <deps dir> <checkpoint dir> <out.gguf> [outtype]
"""

import json
import os
import sys

from .published import MODELS

# llama.cpp's names for the pre-tokenizers tokenizer.py builds.
LLAMA_CPP_PRE = {"llama3": "llama-bpe", "qwen2": "qwen2", "o200k": "gpt-4o", "gpt2": "smollm"}


def main(argv: list) -> int:
    converter_dir, deps_dir, checkpoint, out = argv[:4]
    outtype = argv[4] if len(argv) > 4 else "q8_0"
    with open(os.path.join(checkpoint, "synthetic.json")) as f:
        arch = json.load(f)["architecture"]
    pre = LLAMA_CPP_PRE[MODELS[arch]["tokenizer"]["split"]]

    sys.path[:0] = [os.path.join(converter_dir, "gguf-py"), converter_dir]
    sys.path.append(deps_dir)  # after the venv: its numpy and friends win
    import convert_hf_to_gguf as converter

    converter.TextModel.get_vocab_base_pre = lambda self, tokenizer: pre
    sys.argv = ["convert_hf_to_gguf.py", checkpoint, "--outfile", out, "--outtype", outtype]
    converter.main()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
