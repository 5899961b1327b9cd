"""The input of the attribute heads: encoder features plus the background-masked colour descriptor."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from PIL import Image

from shopml.vision.cache import sha256_bytes
from shopml.vision.colour import COLOUR_FEATURE_DIM, colour_features
from shopml.vision.encoder import EncoderInput, ImageEncoder
from shopml.vision.images import load_image, read_image_bytes

COLOUR_VERSION = "colour/palette42+fg+lab+rgb64/v1"


def colour_block(
    images: Sequence[EncoderInput], encoder: ImageEncoder, progress: bool = False
) -> np.ndarray:
    """(n, COLOUR_FEATURE_DIM) colour descriptors, cached on disk by image sha256."""
    n = len(images)
    out = np.zeros((n, COLOUR_FEATURE_DIM), dtype=np.float32)
    store = encoder.cache
    keys: list[str | None] = [None] * n
    datas: list[bytes | None] = [None] * n
    if store is not None:
        for i, item in enumerate(images):
            if not isinstance(item, Image.Image):
                datas[i] = read_image_bytes(item)
                keys[i] = f"{COLOUR_VERSION}:{sha256_bytes(datas[i])}"
        hits = store.get_many([k for k in keys if k is not None])
    else:
        hits = {}
    todo = [i for i in range(n) if keys[i] is None or keys[i] not in hits]
    for i in range(n):
        if keys[i] is not None and keys[i] in hits:
            out[i] = hits[keys[i]]
    iterator = todo
    if progress and todo:
        from shopml.progress import progress_bar

        iterator = progress_bar(todo, desc="colour features", unit="img")
    fresh = []
    for i in iterator:
        item = images[i]
        source = item if isinstance(item, Image.Image) else load_image(datas[i] or item)
        out[i] = colour_features(source)
        if keys[i] is not None:
            fresh.append((keys[i], out[i]))
        if store is not None and len(fresh) >= 256:
            store.put_many(fresh)
            fresh = []
    if store is not None and fresh:
        store.put_many(fresh)
    return out


def head_inputs(
    images: Sequence[EncoderInput],
    encoder: ImageEncoder | None = None,
    batch_size: int = 32,
    progress: bool = False,
) -> np.ndarray:
    """(n, encoder.feature_dim + COLOUR_FEATURE_DIM) inputs of the attribute heads."""
    encoder = encoder or ImageEncoder.shared()
    deep = encoder.features(images, batch_size=batch_size, progress=progress)
    colour = colour_block(images, encoder, progress=progress)
    return np.concatenate([deep, colour], axis=1)
