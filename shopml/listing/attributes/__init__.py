"""Photo -> listing attributes (item 1 of the IPL listing assistant).

Frozen EfficientNet-Lite0 features (:mod:`shopml.vision.encoder`) plus a background-masked
colour descriptor feed small attribute heads trained on the Fashion Product Images photos
(:func:`train_attributes`); :class:`AttributePredictor` loads them (the default artifact ships
in the package) and predicts masterCategory, subCategory, articleType, baseColour, gender,
usage and season. :func:`pixel_colour` is the pixel-only colour check.
"""

from shopml.listing.attributes.predictor import (
    ATTRIBUTES,
    DEFAULT_ARTIFACT,
    OTHER_LABEL,
    ArtifactError,
    AttributePrediction,
    AttributePredictor,
)
from shopml.vision.colour import pixel_colour


def train_attributes(*args, **kwargs) -> dict:
    """Train the attribute heads and save the artifact (see :mod:`.train`)."""
    from shopml.listing.attributes.train import train_attributes as _train

    return _train(*args, **kwargs)


__all__ = [
    "ATTRIBUTES",
    "DEFAULT_ARTIFACT",
    "OTHER_LABEL",
    "ArtifactError",
    "AttributePrediction",
    "AttributePredictor",
    "pixel_colour",
    "train_attributes",
]
