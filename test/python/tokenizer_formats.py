"""Makes one tokenizer file of each format ExecuTorch's runner reads, and the ids its own
tokenizers (pytorch_tokenizers, the C++ library the runner links) give for a set of texts.

Usage: python tokenizer_formats.py <hf tokenizer.json> <corpus file> <out dir>  (JSON on stdout)

No real Llama 2 or Llama 3 tokenizer file can be fetched here, so the files are made, each
sized to fit a model with a 1024-token vocabulary:
- tiktoken: the byte-level BPE of the given tokenizer.json, as base64 ranks (768 + 256 specials);
- SentencePiece: a BPE model with byte fallback trained on the corpus, with Llama 2's settings;
- llama2.c: that SentencePiece model written by pytorch_tokenizers' own exporter.
"""

import base64
import json
import os
import sys

import pytorch_tokenizers as pt
import sentencepiece as spm

VOCAB = 1024
TEXTS = [
    "Hello world! How are you today?",
    "a  b   c\t\td\n\n\ne  \n f",
    "Numbers 1234567 and 3.14159, dates 2026-11-30.",
    "I'LL say it's DON'T, we've they'd I'm ſ'ſ",
    "Grüße aus Köln: naïve café, façade, ñandú.",
    "東京は日本の首都です。한국어 텍스트.",
    "Drive safe 🚗💨 — “quotes” and ‘apostrophes’…",
    "non\u00a0breaking\u3000spaces\u2009thin",
    "  leading and trailing spaces  ",
    "",
]
SPECIAL_TEXT = "<|start_header_id|>user<|end_header_id|>\n\nHi there<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"


def bytes_to_unicode():
    """GPT-2's byte-level alphabet: printable bytes as themselves, the rest shifted past 255."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    chars = keep[:]
    shifted = 0
    for b in range(256):
        if b not in keep:
            keep.append(b)
            chars.append(256 + shifted)
            shifted += 1
    return dict(zip(keep, map(chr, chars)))


def make_tiktoken(hf_json, path):
    decoder = {c: b for b, c in bytes_to_unicode().items()}
    merges = json.load(open(hf_json))["model"]["merges"]
    ranks = {bytes([b]): b for b in range(256)}
    for merge in merges:
        left, right = merge.split(" ") if isinstance(merge, str) else merge
        token = bytes(decoder[c] for c in left + right)
        ranks.setdefault(token, len(ranks))
        if len(ranks) == VOCAB - 256:
            break
    with open(path, "w") as f:
        for token, rank in ranks.items():
            f.write(f"{base64.b64encode(token).decode()} {rank}\n")


def make_sentencepiece(corpus, prefix):
    spm.SentencePieceTrainer.train(
        input=corpus, model_prefix=prefix, vocab_size=VOCAB, model_type="bpe", byte_fallback=True,
        character_coverage=1.0, normalization_rule_name="identity", add_dummy_prefix=True,
        remove_extra_whitespaces=False, split_digits=True, minloglevel=2,
    )
    return prefix + ".model"


def ids_of(tokenizer, path, texts):
    tokenizer.load(path)
    return {"bos": tokenizer.bos_tok(), "eos": tokenizer.eos_tok(), "ids": [tokenizer.encode(t, 0, 0) for t in texts]}


def main():
    hf_json, corpus, out = sys.argv[1:4]
    os.makedirs(out, exist_ok=True)
    files = {
        "huggingface": hf_json,
        "tiktoken": os.path.join(out, "tiktoken", "tokenizer.model"),
        "sentencepiece": os.path.join(out, "sentencepiece", "tokenizer.model"),
        "llama2c": os.path.join(out, "llama2c", "tokenizer.bin"),
    }
    for name in ("tiktoken", "sentencepiece", "llama2c"):
        os.makedirs(os.path.dirname(files[name]), exist_ok=True)
    make_tiktoken(hf_json, files["tiktoken"])
    model = make_sentencepiece(corpus, os.path.join(out, "sentencepiece", "sp"))
    os.replace(model, files["sentencepiece"])
    pt.Llama2cTokenizer(model_path=files["sentencepiece"]).export(files["llama2c"])
    # Special tokens spelled in text are matched by the Hugging Face and tiktoken tokenizers only;
    # the llama2.c one refuses empty text.
    texts = {
        "huggingface": TEXTS + [SPECIAL_TEXT],
        "tiktoken": TEXTS + [SPECIAL_TEXT],
        "sentencepiece": TEXTS,
        "llama2c": [t for t in TEXTS if t],
    }
    tokenizers = {"huggingface": pt.CppHFTokenizer, "tiktoken": pt.CppTiktoken, "sentencepiece": pt.CppSPTokenizer, "llama2c": pt.CppLlama2cTokenizer}
    references = {name: ids_of(tokenizers[name](), files[name], texts[name]) for name in files}
    print(json.dumps({"files": files, "texts": texts, "references": references}))


if __name__ == "__main__":
    main()
