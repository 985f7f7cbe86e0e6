"""ExecuTorch's own fused LLM kernels on given inputs: the reference for onboard's native ones.

Usage: python -m onboard_executorch.kernel_reference < cases.json > outputs.json

Each case: {"op": "custom_sdpa" | "update_cache", flat float lists with shapes, start_pos, is_causal}.
Outputs: one flat list per case (the attention, or the cache after the update).
"""

import json
import sys

import torch

from .kernels import register_llm_kernels


def tensor(case, name):
    return torch.tensor(case[name], dtype=torch.float32).reshape(case[name + "_shape"])


def run(case):
    if case["op"] == "custom_sdpa":
        out = torch.ops.llama.custom_sdpa(tensor(case, "q"), tensor(case, "k"), tensor(case, "v"), case["start_pos"], None, 0.0, case["is_causal"], None)
        return out.reshape(-1).tolist()
    cache = tensor(case, "cache")
    torch.ops.llama.update_cache(tensor(case, "value"), cache, case["start_pos"])
    return cache.reshape(-1).tolist()


def main() -> int:
    register_llm_kernels()
    json.dump([run(case) for case in json.load(sys.stdin)], sys.stdout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
