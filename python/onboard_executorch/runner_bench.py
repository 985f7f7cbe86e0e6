"""ExecuTorch's own C++ LLM runner (Python bindings) on a .pte: the reference for `npm run bench:executorch`.

Usage: python -m onboard_executorch.runner_bench <file.pte> <tokenizer.json> <prompt token ids, comma-separated> <max new tokens>

The prompt is given as text decoded from the same token ids onboard evaluates.
Prints one JSON line: load, time to first token, prefill and decode tok/s,
from the runner's own Stats, and this process's peak RSS.
"""

import json
import resource
import sys
import time

from executorch.extension.llm.runner import GenerationConfig, TextLLMRunner
from tokenizers import Tokenizer

from .kernels import register_llm_kernels


def main() -> None:
    pte, tokenizer_path, ids, max_new = sys.argv[1], sys.argv[2], [int(i) for i in sys.argv[3].split(",")], int(sys.argv[4])
    register_llm_kernels()
    prompt = Tokenizer.from_file(tokenizer_path).decode(ids, skip_special_tokens=False)
    started = time.monotonic()
    runner = TextLLMRunner(pte, tokenizer_path)
    stats = {}

    def on_stats(s):
        stats.update(
            prompt_tokens=s.num_prompt_tokens,
            generated=s.num_generated_tokens,
            inference_start=s.inference_start_ms,
            prompt_eval_end=s.prompt_eval_end_ms,
            first_token=s.first_token_ms,
            inference_end=s.inference_end_ms,
            load_ms=s.model_load_end_ms - s.model_load_start_ms,
        )

    config = GenerationConfig(echo=False, max_new_tokens=max_new, temperature=0.0, num_bos=0, num_eos=0, seq_len=len(ids) + max_new + 1)
    # Warm-up loads the program (ExecuTorch's runner loads lazily on first use).
    runner.generate(prompt, GenerationConfig(echo=False, max_new_tokens=1, temperature=0.0, num_bos=0, num_eos=0))
    load_ms = (time.monotonic() - started) * 1000
    runner.reset()
    runner.generate(prompt, config, stats_callback=on_stats)
    ttft = stats["first_token"] - stats["inference_start"]
    decode_ms = stats["inference_end"] - stats["first_token"]
    print(
        json.dumps(
            {
                "loadMs": load_ms,
                "timeToFirstTokenMs": ttft,
                "promptTokens": stats["prompt_tokens"],
                "prefillTokensPerSecond": stats["prompt_tokens"] / max(stats["prompt_eval_end"] - stats["inference_start"], 1) * 1000,
                "decodeTokens": stats["generated"],
                "decodeTokensPerSecond": (stats["generated"] - 1) / max(decode_ms, 1) * 1000,
                "peakRssBytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
            }
        )
    )


if __name__ == "__main__":
    main()
