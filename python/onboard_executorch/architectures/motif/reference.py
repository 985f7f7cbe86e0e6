"""Motif-2.6B as an eager PyTorch model under the published checkpoint's tensor names,
written from the technical report (arXiv:2508.09148) and the differential-attention paper
(arXiv:2410.05258). It runs whole sequences (no cache) and is the reference the exported
program is checked against, token by token.

Differential attention, per layer: the attention heads pair up (2i, 2i+1); each pair's two
softmax maps are subtracted, A1 - lambda * A2, with lambda = exp(lq1.lk1) - exp(lq2.lk2) +
lambda_init, and applied to a value twice a head wide. The result is RMS-normalised (SubLN)
and scaled by 1 - lambda_init, where lambda_init = 0.8 - 0.6 exp(-0.3 (layer - 1)).
"""

import math

import torch
from torch import nn

from .polynorm import PolyNorm


def lambda_init(layer: int) -> float:
    return 0.8 - 0.6 * math.exp(-0.3 * (layer - 1))


class RMSNorm(nn.Module):
    def __init__(self, size: int, eps: float):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(size))

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


def rotate_half(x):
    first, second = x.chunk(2, dim=-1)
    return torch.cat((-second, first), dim=-1)


def rope_tables(head_dim: int, positions: int, theta: float):
    inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2, dtype=torch.float32) / head_dim))
    angles = torch.outer(torch.arange(positions, dtype=torch.float32), inv_freq)
    angles = torch.cat((angles, angles), dim=-1)
    return angles.cos(), angles.sin()


class DifferentialAttention(nn.Module):
    def __init__(self, config: dict, layer: int):
        super().__init__()
        hidden, heads, kv_heads = config["hidden_size"], config["num_attention_heads"], config["num_key_value_heads"]
        self.head_dim = hidden // heads
        self.pairs, self.kv_pairs = heads // 2, kv_heads // 2
        self.lambda_init = lambda_init(layer)
        self.q_proj = nn.Linear(hidden, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(hidden, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, hidden, bias=False)
        for name in ("lambda_q1", "lambda_k1", "lambda_q2", "lambda_k2"):
            setattr(self, name, nn.Parameter(torch.zeros(self.head_dim).normal_(0, 0.1)))
        self.subln = RMSNorm(2 * self.head_dim, config["attn_rms_norm_eps"])

    def forward(self, x, cos, sin):
        batch, length, _ = x.shape
        d = self.head_dim
        q = self.q_proj(x).view(batch, length, -1, d).transpose(1, 2)
        k = self.k_proj(x).view(batch, length, -1, d).transpose(1, 2)
        v = self.v_proj(x).view(batch, length, self.kv_pairs, 2 * d).transpose(1, 2)
        q = q * cos + rotate_half(q) * sin
        k = k * cos + rotate_half(k) * sin
        repeat = self.pairs // self.kv_pairs
        # Heads 2i and 2i+1 make pair i; a key/value pair serves `repeat` query pairs.
        k = k.view(batch, self.kv_pairs, 2, length, d).repeat_interleave(repeat, dim=1).view(batch, 2 * self.pairs, length, d)
        v = v.repeat_interleave(repeat, dim=1)
        scores = (q @ k.transpose(-1, -2)) / math.sqrt(d)
        causal = torch.ones(length, length, dtype=torch.bool).tril()
        maps = scores.masked_fill(~causal, float("-inf")).softmax(-1).view(batch, self.pairs, 2, length, length)
        lam = torch.exp((self.lambda_q1 * self.lambda_k1).sum()) - torch.exp((self.lambda_q2 * self.lambda_k2).sum()) + self.lambda_init
        out = (maps[:, :, 0] - lam * maps[:, :, 1]) @ v
        out = self.subln(out) * (1 - self.lambda_init)
        return self.o_proj(out.transpose(1, 2).reshape(batch, length, -1))


class MotifMLP(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        hidden, width = config["hidden_size"], config["intermediate_size"]
        self.gate_proj = nn.Linear(hidden, width, bias=False)
        self.up_proj = nn.Linear(hidden, width, bias=False)
        self.down_proj = nn.Linear(width, hidden, bias=False)
        self.act_fn = PolyNorm()

    def forward(self, x):
        return self.down_proj(self.act_fn(self.gate_proj(x)) * self.up_proj(x))


class DecoderLayer(nn.Module):
    def __init__(self, config: dict, layer: int):
        super().__init__()
        self.input_layernorm = RMSNorm(config["hidden_size"], config["rms_norm_eps"])
        self.self_attn = DifferentialAttention(config, layer)
        self.post_attention_layernorm = RMSNorm(config["hidden_size"], config["rms_norm_eps"])
        self.mlp = MotifMLP(config)

    def forward(self, x, cos, sin):
        x = x + self.self_attn(self.input_layernorm(x), cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


class MotifBody(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.embed_tokens = nn.Embedding(config["vocab_size"], config["hidden_size"])
        self.layers = nn.ModuleList(DecoderLayer(config, i) for i in range(config["num_hidden_layers"]))
        self.norm = RMSNorm(config["hidden_size"], config["rms_norm_eps"])


class MotifForCausalLM(nn.Module):
    def __init__(self, config: dict):
        super().__init__()
        self.config = config
        self.model = MotifBody(config)
        self.lm_head = nn.Linear(config["hidden_size"], config["vocab_size"], bias=False)
        if config.get("tie_word_embeddings"):
            self.lm_head.weight = self.model.embed_tokens.weight

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        """Logits for every position of a [batch, length] sequence."""
        head_dim = self.config["hidden_size"] // self.config["num_attention_heads"]
        cos, sin = rope_tables(head_dim, ids.shape[1], float(self.config["rope_theta"]))
        x = self.model.embed_tokens(ids)
        for layer in self.model.layers:
            x = layer(x, cos, sin)
        return self.lm_head(self.model.norm(x))

    @classmethod
    def from_directory(cls, path: str) -> "MotifForCausalLM":
        import json
        import os

        from safetensors.torch import load_file

        with open(os.path.join(path, "config.json")) as f:
            model = cls(json.load(f))
        missing, unexpected = model.load_state_dict(load_file(os.path.join(path, "model.safetensors")), strict=False)
        allowed = {"lm_head.weight"} if model.config.get("tie_word_embeddings") else set()
        if set(missing) - allowed or unexpected:
            raise ValueError(f"{path}: missing {sorted(set(missing) - allowed)}, unexpected {sorted(unexpected)}")
        return model.eval()

    def save(self, path: str) -> None:
        """model.safetensors under the published names (a tied lm_head is stored once, as the embedding)."""
        import os

        from safetensors.torch import save_file

        tensors = {name: tensor.contiguous() for name, tensor in self.state_dict().items()}
        if self.config.get("tie_word_embeddings"):
            del tensors["lm_head.weight"]
        save_file(tensors, os.path.join(path, "model.safetensors"), metadata={"format": "pt"})
