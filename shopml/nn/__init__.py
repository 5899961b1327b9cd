"""Shared neural-network layers: field embeddings, MLPs, expert/gate blocks."""

from shopml.nn.layers import MLP, FieldEmbedding

__all__ = ["MLP", "FieldEmbedding"]
