"""The ExecuTorch engine host: runs a .pte for the TypeScript engine adapter.

Usage: python -m onboard_executorch.host

Protocol (version 1, documented in docs/executorch-host.md): one JSON object
per line. Requests on stdin carry an "id" and an "op"; each gets exactly one
reply on stdout with the same "id" and "ok": true plus the op's fields, or
"ok": false plus "error": {"code", "message"}. Logs go to stderr only.
"""

import json
import sys
import time
import traceback
from importlib.metadata import version

import torch

from .kernels import register_llm_kernels

PROTOCOL_VERSION = 1


class HostError(Exception):
    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


class Sequence:
    """One KV cache: its own loaded method (mutable buffers are per method) and sampler state."""

    def __init__(self, method):
        self.method = method
        self.position = 0
        self.pending = None  # the last sampled token, not yet in the KV cache
        self.history = []  # tokens in the KV cache, for the repetition penalties
        self.sampling = {}
        self.generator = torch.Generator()


class Host:
    def __init__(self):
        self.program = None
        self.sequences = []
        self.max_seq_len = 0

    def hello(self, _request):
        from executorch.extension.pybindings import portable_lib

        return {"protocol": PROTOCOL_VERSION, "executorch": version("executorch"), "backends": sorted(portable_lib._get_registered_backend_names())}

    def load(self, request):
        from executorch.runtime import Runtime

        register_llm_kernels()

        started = time.monotonic()
        try:
            self.program = Runtime.get().load_program(request["pte"])
            self.sequences = [Sequence(self.program.load_method("forward")) for _ in range(int(request.get("sequences", 1)))]
        except Exception as error:
            raise HostError("LOAD_FAILED", f"{type(error).__name__}: {error}")
        # The adapter read the program's metadata from the file already; it sends the limit.
        self.max_seq_len = int(request["max_seq_len"])
        return {"load_ms": round((time.monotonic() - started) * 1000, 1)}

    def prefill(self, request):
        """Evaluates tokens from start_pos (dropping what the cache held after it) and samples one token."""
        sequence = self._sequence(request)
        start, tokens = int(request["start_pos"]), request["tokens"]
        if not tokens:
            raise HostError("BAD_REQUEST", "prefill needs at least one token")
        if start + len(tokens) > self.max_seq_len:
            raise HostError("CONTEXT_FULL", f"{start + len(tokens)} tokens exceed the program's {self.max_seq_len}")
        sequence.history = sequence.history[:start]
        sequence.sampling = request["sampling"]
        seed = request["sampling"].get("seed")
        if seed is not None:
            sequence.generator.manual_seed(int(seed))
        else:
            sequence.generator.seed()
        logits = self._forward(sequence, tokens, start)
        return {"token": self._sample(sequence, logits)}

    def step(self, request):
        """Evaluates the last sampled token and samples the next."""
        sequence = self._sequence(request)
        if sequence.pending is None:
            raise HostError("BAD_REQUEST", "step before prefill")
        if sequence.position >= self.max_seq_len:
            raise HostError("CONTEXT_FULL", f"the program holds {self.max_seq_len} tokens")
        logits = self._forward(sequence, [sequence.pending], sequence.position)
        return {"token": self._sample(sequence, logits)}

    def _sequence(self, request) -> Sequence:
        if self.program is None:
            raise HostError("NOT_LOADED", "no program is loaded")
        index = int(request.get("seq", 0))
        if not 0 <= index < len(self.sequences):
            raise HostError("BAD_REQUEST", f"no sequence {index}")
        return self.sequences[index]

    def _forward(self, sequence: Sequence, tokens: list, start: int) -> torch.Tensor:
        outputs = sequence.method.execute([torch.tensor([tokens], dtype=torch.long), torch.tensor([start], dtype=torch.long)])
        sequence.position = start + len(tokens)
        sequence.history = sequence.history[:start] + list(tokens)
        logits = outputs[0]
        row = logits.reshape(-1, logits.shape[-1])[-1].to(torch.float32)
        # Damaged weights load without complaint and then give NaN: refuse them instead of sampling garbage.
        if not bool(torch.isfinite(row).all()):
            raise HostError("BAD_LOGITS", "the forward gave non-finite logits (NaN or Inf): the program's weights are damaged, or its numerics overflow")
        return row

    def _sample(self, sequence: Sequence, logits: torch.Tensor) -> int:
        token = sample(logits, sequence.history, sequence.sampling, sequence.generator)
        sequence.pending = token
        return token


def sample(logits: torch.Tensor, history: list, options: dict, generator: torch.Generator) -> int:
    """The core's sampling options, complete (the core fills every default), in llama.cpp's order: penalties, then greedy or filters and a draw."""
    logits = logits.clone()
    last_n = int(options["repeatLastN"])
    recent = history[-last_n:] if last_n > 0 else []
    if recent:
        ids, counts = torch.tensor(recent).unique(return_counts=True)
        repeat = float(options["repeatPenalty"])
        if repeat != 1.0:
            chosen = logits[ids]
            logits[ids] = torch.where(chosen > 0, chosen / repeat, chosen * repeat)
        logits[ids] -= counts.to(torch.float32) * float(options["frequencyPenalty"]) + float(options["presencePenalty"])

    temperature = float(options["temperature"])
    if temperature <= 0:
        return int(logits.argmax())

    top_k = int(options["topK"])
    if 0 < top_k < logits.numel():
        threshold = torch.topk(logits, top_k).values[-1]
        logits[logits < threshold] = float("-inf")
    probs = torch.softmax(logits, dim=-1)
    top_p = float(options["topP"])
    if top_p < 1.0:
        sorted_probs, order = probs.sort(descending=True)
        outside = sorted_probs.cumsum(0) - sorted_probs > top_p
        probs[order[outside]] = 0
    min_p = float(options["minP"])
    if min_p > 0:
        probs[probs < probs.max() * min_p] = 0
    logits = torch.where(probs > 0, logits / temperature, torch.tensor(float("-inf")))
    return int(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator))


def main() -> int:
    host = Host()
    handlers = {"hello": host.hello, "load": host.load, "prefill": host.prefill, "step": host.step}
    for line in sys.stdin:
        if not line.strip():
            continue
        request = {}
        try:
            request = json.loads(line)
            handler = handlers.get(request.get("op"))
            if handler is None:
                raise HostError("BAD_REQUEST", f"unknown op {request.get('op')!r}")
            reply = {"id": request.get("id"), "ok": True, **handler(request)}
        except HostError as error:
            reply = {"id": request.get("id"), "ok": False, "error": {"code": error.code, "message": str(error)}}
        except Exception as error:
            traceback.print_exc(file=sys.stderr)
            reply = {"id": request.get("id"), "ok": False, "error": {"code": "HOST_ERROR", "message": f"{type(error).__name__}: {error}"}}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
