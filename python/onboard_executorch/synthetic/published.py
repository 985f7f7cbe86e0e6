"""The published models whose shapes the synthetic checkpoints copy: each one's config.json as
released (the fields its architecture reads), and its tokenizer's kind, special tokens and
chat template. Only the weights are made up.
"""

_CHATML = (
    "{%- for message in messages %}{{- '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>\\n' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|im_start|>assistant\\n' }}{%- endif %}"
)

_LLAMA3_TEMPLATE = (
    "{{- bos_token }}{%- for message in messages %}"
    "{{- '<|start_header_id|>' + message['role'] + '<|end_header_id|>\\n\\n' + message['content'] | trim + '<|eot_id|>' }}"
    "{%- endfor %}{%- if add_generation_prompt %}{{- '<|start_header_id|>assistant<|end_header_id|>\\n\\n' }}{%- endif %}"
)

_PHI4_TEMPLATE = (
    "{%- for message in messages %}{{- '<|' + message['role'] + '|>' + message['content'] + '<|end|>' }}{%- endfor %}"
    "{%- if add_generation_prompt %}{{- '<|assistant|>' }}{%- else %}{{- eos_token }}{%- endif %}"
)

_PHI4_LONG_FACTOR = [
    1, 1.118320672, 1.250641126, 1.398617824, 1.564103225, 1.74916897, 1.956131817, 2.187582649,
    2.446418898, 2.735880826, 3.059592084, 3.421605075, 3.826451687, 4.279200023, 4.785517845,
    5.351743533, 5.984965424, 6.693110555, 7.485043894, 8.370679318, 9.36110372, 10.4687158,
    11.70738129, 13.09260651, 14.64173252, 16.37415215, 18.31155283, 20.47818807, 22.90118105,
    25.61086418, 28.64115884, 32.03, 32.1, 32.13, 32.23, 32.6, 32.61, 32.64, 32.66, 32.7, 32.71,
    32.93, 32.97, 33.28, 33.49, 33.5, 44.16, 47.77,
]

_LFM2_LAYERS = ["conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "conv", "full_attention", "conv", "full_attention", "conv", "full_attention", "conv", "full_attention", "conv"]

MODELS = {
    "llama3_2": {
        "published": "meta-llama/Llama-3.2-1B-Instruct",
        "model_class": "llama3_2",
        "config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 2048, "intermediate_size": 8192,
            "num_hidden_layers": 16, "num_attention_heads": 32, "num_key_value_heads": 8, "head_dim": 64,
            "hidden_act": "silu", "rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 131072,
            "rope_scaling": {"factor": 32.0, "high_freq_factor": 4.0, "low_freq_factor": 1.0, "original_max_position_embeddings": 8192, "rope_type": "llama3"},
            "tie_word_embeddings": True, "vocab_size": 128256, "attention_bias": False, "mlp_bias": False, "initializer_range": 0.02,
        },
        "tokenizer": {
            "split": "llama3", "specials_first": False,
            "special_tokens": ["<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eom_id|>", "<|eot_id|>", "<|python_tag|>"],
            "bos": "<|begin_of_text|>", "eos": ["<|eot_id|>", "<|end_of_text|>", "<|eom_id|>"], "chat_template": _LLAMA3_TEMPLATE,
        },
    },
    "smollm2": {
        "published": "HuggingFaceTB/SmolLM2-135M-Instruct",
        "model_class": "smollm2",
        "config": {
            "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 576, "intermediate_size": 1536,
            "num_hidden_layers": 30, "num_attention_heads": 9, "num_key_value_heads": 3, "hidden_act": "silu",
            "rms_norm_eps": 1e-05, "rope_theta": 100000.0, "max_position_embeddings": 8192, "tie_word_embeddings": True,
            "vocab_size": 49152, "initializer_range": 0.041666666666666664,
        },
        "tokenizer": {
            "split": "gpt2", "specials_first": True, "special_tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            "bos": "<|im_start|>", "eos": ["<|im_end|>"], "pad": "<|im_end|>", "chat_template": _CHATML,
        },
    },
    "qwen2_5": {
        "published": "Qwen/Qwen2.5-0.5B-Instruct",
        "model_class": "qwen2_5_0_5b",
        "config": {
            "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "hidden_size": 896, "intermediate_size": 4864,
            "num_hidden_layers": 24, "num_attention_heads": 14, "num_key_value_heads": 2, "hidden_act": "silu",
            "rms_norm_eps": 1e-06, "rope_theta": 1000000.0, "max_position_embeddings": 32768, "sliding_window": 32768,
            "use_sliding_window": False, "max_window_layers": 21, "tie_word_embeddings": True, "vocab_size": 151936, "initializer_range": 0.02,
        },
        "tokenizer": {
            "split": "qwen2", "specials_first": False, "special_tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            "eos": ["<|im_end|>", "<|endoftext|>"], "pad": "<|endoftext|>", "chat_template": _CHATML,
        },
    },
    "qwen3": {
        "published": "Qwen/Qwen3-0.6B",
        "model_class": "qwen3_0_6b",
        "config": {
            "architectures": ["Qwen3ForCausalLM"], "model_type": "qwen3", "hidden_size": 1024, "intermediate_size": 3072,
            "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 8, "head_dim": 128, "hidden_act": "silu",
            "rms_norm_eps": 1e-06, "rope_theta": 1000000, "max_position_embeddings": 40960, "attention_bias": False,
            "use_sliding_window": False, "max_window_layers": 28, "tie_word_embeddings": True, "vocab_size": 151936, "initializer_range": 0.02,
        },
        "tokenizer": {
            "split": "qwen2", "specials_first": False, "special_tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>", "<think>", "</think>"],
            "eos": ["<|im_end|>", "<|endoftext|>"], "pad": "<|endoftext|>", "chat_template": _CHATML,
        },
    },
    "phi_4_mini": {
        "published": "microsoft/Phi-4-mini-instruct",
        "model_class": "phi_4_mini",
        "config": {
            "architectures": ["Phi3ForCausalLM"], "model_type": "phi3", "hidden_size": 3072, "intermediate_size": 8192,
            "num_hidden_layers": 32, "num_attention_heads": 24, "num_key_value_heads": 8, "hidden_act": "silu",
            "rms_norm_eps": 1e-05, "rope_theta": 10000.0, "partial_rotary_factor": 0.75,
            "max_position_embeddings": 131072, "original_max_position_embeddings": 4096,
            "rope_scaling": {"type": "longrope", "short_factor": [1.0] * 48, "long_factor": _PHI4_LONG_FACTOR},
            "sliding_window": 262144, "tie_word_embeddings": True, "vocab_size": 200064, "attention_bias": False, "initializer_range": 0.02,
        },
        "tokenizer": {
            "split": "o200k", "specials_first": False,
            "special_tokens": ["<|endoftext|>", "<|system|>", "<|user|>", "<|assistant|>", "<|end|>", "<|tool|>"],
            "eos": ["<|end|>", "<|endoftext|>"], "pad": "<|endoftext|>", "chat_template": _PHI4_TEMPLATE,
        },
    },
    "lfm2": {
        "published": "LiquidAI/LFM2-350M",
        "model_class": "lfm2_350m",
        "config": {
            "architectures": ["Lfm2ForCausalLM"], "model_type": "lfm2", "hidden_size": 1024, "intermediate_size": 6656,
            "block_dim": 1024, "block_ff_dim": 6656, "conv_dim": 1024, "block_auto_adjust_ff_dim": True, "block_ffn_dim_multiplier": 1.0, "block_multiple_of": 256,
            "num_hidden_layers": 16, "num_attention_heads": 16, "num_key_value_heads": 8, "norm_eps": 1e-05,
            "conv_L_cache": 3, "conv_bias": False, "layer_types": _LFM2_LAYERS, "rope_theta": 1000000.0,
            "max_position_embeddings": 128000, "tie_embedding": True, "vocab_size": 65536, "initializer_range": 0.02,
        },
        "tokenizer": {
            "split": "llama3", "specials_first": True,
            "special_tokens": ["<|pad|>", "<|startoftext|>", "<|endoftext|>", "<|fim_pre|>", "<|fim_mid|>", "<|fim_suf|>", "<|im_start|>", "<|im_end|>"],
            "bos": "<|startoftext|>", "eos": ["<|im_end|>", "<|endoftext|>"], "pad": "<|pad|>",
            "chat_template": "{{- bos_token }}" + _CHATML,
        },
    },
    "motif": {
        "published": "Motif-Technologies/Motif-2.6B",
        "model_class": "motif_2_6b",
        # From the technical report (arXiv:2508.09148) and public reference implementations; the
        # released config.json cannot be fetched here. 2048 x 32 layers, tied embeddings: 2.6 B.
        "config": {
            "architectures": ["MotifForCausalLM"], "model_type": "motif", "hidden_size": 2048, "intermediate_size": 8192,
            "num_hidden_layers": 32, "num_attention_heads": 16, "num_key_value_heads": 16, "hidden_act": "poly_norm",
            "rms_norm_eps": 1e-06, "attn_rms_norm_eps": 1e-05, "rope_theta": 500000.0, "max_position_embeddings": 16384,
            "tie_word_embeddings": True, "vocab_size": 219520, "initializer_range": 0.02,
        },
        "tokenizer": {
            "split": "llama3", "specials_first": False, "special_tokens": ["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
            "eos": ["<|im_end|>", "<|endoftext|>"], "pad": "<|endoftext|>", "chat_template": _CHATML,
        },
    },
}
