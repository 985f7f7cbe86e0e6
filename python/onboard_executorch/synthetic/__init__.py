"""Synthetic checkpoints: published architectures with seeded random weights."""
