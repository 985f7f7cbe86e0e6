"""Kernels an exported LLM program calls that the runtime does not register by itself."""


def register_llm_kernels() -> None:
    """Registers ExecuTorch's LLM custom ops (llama::custom_sdpa, llama::update_cache) and its
    quantized kernels (quantized_decomposed::embedding_byte for 8-bit embeddings); importing
    the modules does it. Without them, loading `forward` fails with OperatorMissing (0x14)."""
    import executorch.extension.llm.custom_ops.custom_ops  # noqa: F401
    import executorch.kernels.quantized  # noqa: F401
