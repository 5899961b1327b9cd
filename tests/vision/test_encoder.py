"""ImageEncoder on real photos: shapes, normalisation, the disk cache and input kinds agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from shopml.data.samples import sample_path
from shopml.vision.cache import FeatureCache
from shopml.vision.encoder import ImageEncoder, square_resize
from shopml.vision.images import ImageError, load_image


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """Tiny models: thread hand-offs cost more than they save on a shared CPU."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


IDS = [10000, 10006, 10098]  # a skirt, a T-shirt, a watch


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> ImageEncoder:
    cache = FeatureCache(tmp_path_factory.mktemp("cache") / "features.sqlite")
    return ImageEncoder(cache=cache)


@pytest.fixture(scope="module")
def paths():
    return [sample_path(f"fashion_images/images/{i}.jpg") for i in IDS]


def test_embed_shape_and_norm(encoder, paths):
    emb = encoder.embed(paths)
    assert emb.shape == (3, encoder.dim) == (3, 1280)
    assert emb.dtype == np.float32
    assert np.linalg.norm(emb, axis=1) == pytest.approx(np.ones(3), abs=1e-5)
    similarity = emb @ emb.T
    assert similarity[0, 1] > similarity[0, 2]  # skirt is nearer the T-shirt than the watch


def test_cache_bytes_paths_and_pil_agree(encoder, paths):
    first = encoder.features(paths)
    assert first.shape == (3, encoder.feature_dim) == (3, 2024)
    stored = encoder.cache.get_many(
        [
            f"{encoder.version}:{__import__('hashlib').sha256(p.read_bytes()).hexdigest()}"
            for p in paths
        ]
    )
    assert len(stored) == 3
    again = encoder.features([p.read_bytes() for p in paths])  # cache hits by content
    assert np.array_equal(first, again)
    fresh = encoder.features([load_image(p) for p in paths])  # PIL input: computed, not cached
    assert np.allclose(first, fresh, atol=1e-4)


def test_embed_of_bad_photo_raises(encoder, tmp_path):
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"GIF89a but not really")
    with pytest.raises(ImageError, match=r"bad\.jpg"):
        encoder.embed([bad])


def test_square_resize_pads_with_white():
    from PIL import Image

    wide = square_resize(Image.new("RGB", (400, 200), (0, 0, 0)))
    assert wide.size == (224, 224)
    assert wide.getpixel((112, 5)) == (255, 255, 255)
    assert wide.getpixel((112, 112)) == (0, 0, 0)


def test_shared_is_one_instance():
    assert ImageEncoder.shared() is ImageEncoder.shared()
