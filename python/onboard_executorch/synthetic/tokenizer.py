"""A tokenizer of an architecture's kind, trained here: byte-level BPE with the architecture's
pre-tokenizer and special tokens, filled to the vocabulary size the model declares.

The merges come from corpus.txt, so the vocabulary is small and deterministic; filler entries
(never produced by encoding) take it to the model's size, so every id the model can emit decodes.
"""

import json
import os

from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers, trainers

CORPUS = os.path.join(os.path.dirname(__file__), "corpus.txt")

# The split patterns the published tokenizers use before the byte-level step.
SPLITS = {
    "llama3": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "qwen2": r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    "o200k": r"[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]*[\p{Ll}\p{Lm}\p{Lo}\p{M}]+(?i:'s|'t|'re|'ve|'m|'ll|'d)?|[^\r\n\p{L}\p{N}]?[\p{Lu}\p{Lt}\p{Lm}\p{Lo}\p{M}]+[\p{Ll}\p{Lm}\p{Lo}\p{M}]*(?i:'s|'t|'re|'ve|'m|'ll|'d)?|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n/]*|\s*[\r\n]+|\s+(?!\S)|\s+",
    # GPT-2's byte-level pattern (SmolLM2), digits one by one.
    "gpt2": None,
}


def build(spec: dict, vocab_size: int, out_dir: str) -> dict:
    """Writes tokenizer.json and tokenizer_config.json; returns the special tokens' ids."""
    specials = spec["special_tokens"]
    bpe_size = vocab_size - len(specials)
    if bpe_size < 256 + 16:
        raise ValueError(f"a vocabulary of {vocab_size} leaves no room for the 256 bytes and merges")

    tokenizer = Tokenizer(models.BPE())
    split = SPLITS[spec["split"]]
    if split is None:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([pre_tokenizers.Digits(individual_digits=True), pre_tokenizers.ByteLevel(add_prefix_space=False)])
    else:
        tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
            pre_tokenizers.Split(Regex(split), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ])
    tokenizer.decoder = decoders.ByteLevel()
    at_start = spec["specials_first"]
    trainer = trainers.BpeTrainer(
        vocab_size=bpe_size + (len(specials) if at_start else 0),
        special_tokens=specials if at_start else [],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tokenizer.train([CORPUS], trainer)

    data = json.loads(tokenizer.to_str())
    vocab = data["model"]["vocab"]
    filler_end = vocab_size - (0 if at_start else len(specials))
    for index in range(len(vocab), filler_end):
        vocab[f"<|synthetic_filler_{index}|>"] = index
    tokenizer = Tokenizer.from_str(json.dumps(data))
    # Appended after the filler, or (already trained in at the start) marked special.
    tokenizer.add_special_tokens(specials)
    if tokenizer.get_vocab_size() != vocab_size:
        raise AssertionError(f"tokenizer has {tokenizer.get_vocab_size()} entries, not {vocab_size}")
    tokenizer.save(os.path.join(out_dir, "tokenizer.json"))

    ids = {token: tokenizer.token_to_id(token) for token in specials}
    config = {
        "tokenizer_class": "PreTrainedTokenizerFast",
        "model_max_length": spec.get("model_max_length", 131072),
        "bos_token": spec.get("bos"),
        "eos_token": spec["eos"][0],
        "pad_token": spec.get("pad"),
        "chat_template": spec["chat_template"],
    }
    with open(os.path.join(out_dir, "tokenizer_config.json"), "w") as f:
        json.dump({key: value for key, value in config.items() if value is not None}, f, indent=2)
    return ids
