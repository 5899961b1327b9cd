"""Shared neural-network layers: field embeddings, MLPs, factorization-machine terms."""

from shopml.nn.layers import MLP, FieldEmbedding, FMInteraction

__all__ = ["MLP", "FMInteraction", "FieldEmbedding"]
