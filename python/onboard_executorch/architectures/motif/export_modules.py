"""Motif as pieces of ExecuTorch's Llama transformer, for `export_llm`: a differential
attention with its own static KV cache, registered as attention_type "motif_differential",
and a feed-forward with PolyNorm in place of SiLU.

The cache is this module's own buffers, not ExecuTorch's KVCache class, so the exporter's
source transforms (custom SDPA and KV-cache ops, which assume one value per key head) leave
it alone; its keys are per head, its values per head pair (twice a head wide).
"""

import math

import torch
from executorch.examples.models.llama import attention, llama_transformer
from executorch.examples.models.llama.norm import RMSNorm
from torch import nn

from .polynorm import PolyNorm
from .reference import lambda_init

ATTENTION_TYPE = "motif_differential"


class MotifFeedForward(nn.Module):
    """w2(PolyNorm(w1 x) * w3 x): ExecuTorch's FeedForward names, Motif's activation."""

    def __init__(self, dim: int, hidden_dim: int):
        super().__init__()
        self.w1 = nn.Linear(dim, hidden_dim, bias=False)
        self.w2 = nn.Linear(hidden_dim, dim, bias=False)
        self.w3 = nn.Linear(dim, hidden_dim, bias=False)
        self.act = PolyNorm()

    def forward(self, x):
        return self.w2(self.act(self.w1(x)) * self.w3(x))


class MotifDifferentialAttention(attention.Attention):
    """Heads paired (2i, 2i+1), two softmax maps subtracted with a learned lambda, SubLN: as reference.py."""

    def __init__(self, args, layer_id: int, rope, attn_rms_norm_eps: float = 1e-5):
        super().__init__()
        self.head_dim = args.head_dim or args.dim // args.n_heads
        self.pairs, self.kv_pairs = args.n_heads // 2, args.n_kv_heads // 2
        self.repeat = self.pairs // self.kv_pairs
        self.lambda_init = lambda_init(layer_id)
        self.rope = rope
        self.use_kv_cache = args.use_kv_cache
        self.enable_dynamic_shape = args.enable_dynamic_shape
        d = self.head_dim
        self.wq = nn.Linear(args.dim, args.n_heads * d, bias=False)
        self.wk = nn.Linear(args.dim, args.n_kv_heads * d, bias=False)
        self.wv = nn.Linear(args.dim, args.n_kv_heads * d, bias=False)
        self.wo = nn.Linear(args.n_heads * d, args.dim, bias=False)
        for name in ("lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2"):
            setattr(self, name, nn.Parameter(torch.zeros(d)))
        self.subln = RMSNorm(2 * d, eps=attn_rms_norm_eps)
        context = args.max_context_len
        # On the CPU explicitly: the exporter builds the model on the meta device and loads
        # only the checkpoint's tensors, so buffers made here must not follow the default device.
        self.register_buffer("mask", torch.full((context, context), float("-inf"), device="cpu").triu(1), persistent=False)
        if self.use_kv_cache:
            self.register_buffer("k_cache", torch.zeros(args.max_batch_size, args.n_kv_heads, context, d, device="cpu"), persistent=False)
            self.register_buffer("v_cache", torch.zeros(args.max_batch_size, self.kv_pairs, context, 2 * d, device="cpu"), persistent=False)

    def _cached(self, input_pos, k, v):
        if self.enable_dynamic_shape:
            start = input_pos[0].item()
            torch._check(start >= 0)
            torch._check(start < self.mask.size(0))
            positions = torch.arange(k.size(2), device=self.k_cache.device) + start
            self.k_cache.index_copy_(2, positions, k)
            self.v_cache.index_copy_(2, positions, v)
            return self.k_cache, self.v_cache, self.mask.narrow(0, start, k.size(2))
        self.k_cache[:, :, input_pos] = k
        self.v_cache[:, :, input_pos] = v
        return self.k_cache, self.v_cache, self.mask[input_pos]

    def forward(self, x, freqs_cos, freqs_sin, **kwargs):
        batch, length, _ = x.shape
        d = self.head_dim
        q = self.wq(x).view(batch, length, -1, d)
        k = self.wk(x).view(batch, length, -1, d)
        q, k = self.rope.forward(q, k, freqs_cos, freqs_sin)
        q, k = q.transpose(1, 2), k.transpose(1, 2)
        v = self.wv(x).view(batch, length, self.kv_pairs, 2 * d).transpose(1, 2)
        if self.use_kv_cache:
            k, v, mask = self._cached(kwargs["input_pos"], k, v)
        else:
            mask = self.mask[:length, :length]
        keys = k.size(2)
        k = k.view(batch, self.kv_pairs, 2, keys, d).repeat_interleave(self.repeat, dim=1).view(batch, 2 * self.pairs, keys, d)
        v = v.repeat_interleave(self.repeat, dim=1)
        scores = torch.matmul(q, k.transpose(-1, -2)) / math.sqrt(d) + mask
        maps = torch.softmax(scores, dim=-1).view(batch, self.pairs, 2, length, keys)
        lam = torch.exp(torch.sum(self.lambda_q1 * self.lambda_k1)) - torch.exp(torch.sum(self.lambda_q2 * self.lambda_k2)) + self.lambda_init
        out = torch.matmul(maps[:, :, 0] - lam * maps[:, :, 1], v)
        out = self.subln(out) * (1 - self.lambda_init)
        return self.wo(out.transpose(1, 2).reshape(batch, length, -1)), None


def register() -> None:
    """Registers the attention and swaps the feed-forward ExecuTorch's transformer builds.
    Called in the export process, for Motif exports only (architectures/motif/__init__.py)."""
    attention.ATTENTION_REGISTRY[ATTENTION_TYPE] = MotifDifferentialAttention
    llama_transformer.FeedForward = MotifFeedForward
