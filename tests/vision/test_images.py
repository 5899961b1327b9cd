"""load_image: every kind of bad input gets an ImageError naming the file and the problem."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from shopml.data.samples import sample_path
from shopml.vision import images
from shopml.vision.images import ImageError, load_image, to_rgb


@pytest.fixture(scope="module")
def photo() -> bytes:
    return sample_path("fashion_images/images/10000.jpg").read_bytes()


def test_real_photo_loads_as_rgb(photo):
    path = sample_path("fashion_images/images/10000.jpg")
    image = load_image(path)
    assert image.mode == "RGB" and image.size == (224, 224)
    assert load_image(photo).tobytes() == image.tobytes()
    assert load_image(str(path)).tobytes() == image.tobytes()


def test_grey_and_alpha_images_become_rgb():
    buf = io.BytesIO()
    Image.new("LA", (3, 2), (200, 128)).save(buf, format="PNG")
    image = load_image(buf.getvalue())
    assert image.mode == "RGB" and image.getpixel((0, 0)) == (200, 200, 200)
    assert to_rgb(Image.new("L", (2, 2), 7)).getpixel((1, 1)) == (7, 7, 7)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match=r"nope\.jpg: image file does not exist"):
        load_image(tmp_path / "nope.jpg")


def test_directory_is_not_an_image(tmp_path):
    with pytest.raises(ImageError, match="not a regular file"):
        load_image(tmp_path)


def test_zero_byte_file(tmp_path):
    empty = tmp_path / "empty.jpg"
    empty.write_bytes(b"")
    with pytest.raises(ImageError, match=r"empty\.jpg: image is empty \(0 bytes\)"):
        load_image(empty)
    with pytest.raises(ImageError, match=r"<bytes>: image is empty"):
        load_image(b"")


def test_non_image_file(tmp_path):
    text = tmp_path / "notes.jpg"
    text.write_text("this is a text file, not a photo\n")
    with pytest.raises(ImageError, match=r"notes\.jpg: not an image"):
        load_image(text)


def test_truncated_jpeg(tmp_path, photo):
    cut = tmp_path / "cut.jpg"
    cut.write_bytes(photo[: len(photo) // 2])
    with pytest.raises(ImageError, match=r"cut\.jpg: corrupt or truncated JPEG image"):
        load_image(cut)


def test_corrupt_header(tmp_path, photo):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(photo[:200])  # the JPEG header stops inside its tables
    with pytest.raises(ImageError, match=r"broken\.jpg: corrupt or truncated"):
        load_image(broken)


def test_corrupt_png_checksum():
    buf = io.BytesIO()
    Image.new("RGB", (4, 4), (1, 2, 3)).save(buf, format="PNG")
    data = bytearray(buf.getvalue())
    data[-20] ^= 0xFF  # inside the IDAT chunk: zlib / CRC no longer match
    with pytest.raises(ImageError, match=r"<bytes>: corrupt or truncated"):
        load_image(bytes(data))


def test_too_many_bytes(tmp_path, monkeypatch, photo):
    monkeypatch.setattr(images, "MAX_IMAGE_BYTES", 1000)
    big = tmp_path / "big.jpg"
    big.write_bytes(photo)
    with pytest.raises(ImageError, match=r"big\.jpg: image file is too large \(.* limit 1,000\)"):
        load_image(big)
    with pytest.raises(ImageError, match=r"<bytes>: image is too large"):
        load_image(photo)


def test_too_many_pixels_is_refused_before_decoding():
    buf = io.BytesIO()
    Image.new("1", (8000, 6000)).save(buf, format="PNG")  # 48 Mpx in a few kB
    data = buf.getvalue()
    assert len(data) < images.MAX_IMAGE_BYTES
    with pytest.raises(
        ImageError, match=r"too many pixels \(8000x6000 = 48,000,000; limit 40,000,000\)"
    ):
        load_image(data)


def test_unsupported_source_type():
    with pytest.raises(ImageError, match="unsupported image source of type int"):
        load_image(42)  # type: ignore[arg-type]
