"""Post-click GMV under delayed feedback: the GMV view, the stream protocol reused from
:mod:`shopml.conversion`, the Single/Dual baselines and READER (arXiv 2601.20307)."""
