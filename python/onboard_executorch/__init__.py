"""onboard's ExecuTorch tools: export a checkpoint to .pte, verify it, describe it.

Run by the TypeScript CLI inside the project's virtual environment; each
module's `main` reads a JSON job and reports progress as JSON lines on fd 3.
"""
