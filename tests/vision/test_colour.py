"""Pixel colour: CIELAB conversion, background masking and the named palette on built images."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from shopml.vision.colour import (
    COLOUR_FEATURE_DIM,
    PALETTE_NAMES,
    colour_features,
    pixel_colour,
    srgb_to_lab,
)


def test_lab_of_white_black_and_red():
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]]))
    assert lab[0] == pytest.approx([100.0, 0.0, 0.0], abs=0.01)
    assert lab[1] == pytest.approx([0.0, 0.0, 0.0], abs=0.01)
    assert lab[2] == pytest.approx([53.24, 80.09, 67.20], abs=0.05)  # standard sRGB red


def product(colour, background=(255, 255, 255), size=(60, 80), box=(15, 20, 45, 60)):
    image = Image.new("RGB", size, background)
    image.paste(Image.new("RGB", (box[2] - box[0], box[3] - box[1]), colour), box[:2])
    return image


def test_red_item_on_white_background():
    assert pixel_colour(product((200, 30, 40))) == ("Red", 1.0)


def test_background_is_masked_whatever_its_colour():
    # a navy item on a light grey studio background: grey never counts
    assert pixel_colour(product((28, 36, 74), background=(230, 230, 230))) == ("Navy Blue", 1.0)


def test_majority_colour_and_its_share():
    image = product((240, 210, 40), box=(10, 10, 50, 70))  # 40 x 60 yellow = 2400 px
    image.paste(Image.new("RGB", (40, 20), (20, 20, 22)), (10, 50))  # lower 40 x 20 black
    name, share = pixel_colour(image)
    assert name == "Yellow"
    assert share == pytest.approx(1600 / 2400)


def test_white_item_on_white_is_white():
    assert pixel_colour(Image.new("RGB", (50, 50), (250, 250, 250))) == ("White", 1.0)


def test_colour_features_layout():
    features = colour_features(product((200, 30, 40)))
    assert features.shape == (COLOUR_FEATURE_DIM,)
    shares = features[: len(PALETTE_NAMES)]
    assert shares[PALETTE_NAMES.index("Red")] == pytest.approx(1.0)
    assert features[len(PALETTE_NAMES)] == pytest.approx(30 * 40 / (60 * 80))
    histogram = features[-64:]
    assert histogram.sum() == pytest.approx(1.0)
    assert histogram[(3 * 4 + 0) * 4 + 0] == pytest.approx(1.0)  # (200, 30, 40) -> bin (3, 0, 0)
