"""Seeded mutation fuzzing of predict's image reader, the digits' segmentation included (image_to_digits;
tests/fuzz.py): COUNT mutations each of real PNG, JPEG, TIFF and GIF files of MNIST digits made with Pillow.
Every case reads or raises PredictError (one line naming the file); nothing else, no warning, nothing printed,
no call over 10 s of CPU, nothing written."""

from __future__ import annotations

import io
import random
import struct

import numpy as np
import pytest
from PIL import Image

from pipeline.tools.predict import PredictError, image_to_digits
from tests import fuzz

COUNT = 500  # mutations per kind
SEED = 19980101
SIDE = 56  # pixels: an MNIST digit scaled 2x


@pytest.fixture(scope="module")
def digits(mnist):
    """Two MNIST test digits as ink, uint8 (SIDE, SIDE)."""
    return [np.asarray(Image.fromarray(mnist.x_test[i]).resize((SIDE, SIDE), Image.Resampling.BILINEAR)) for i in (0, 1)]


def encoded(image, format, **options) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format, **options)
    return buffer.getvalue()


def transparent(ink):
    rgba = np.zeros((*ink.shape, 4), np.uint8)
    rgba[..., 2], rgba[..., 3] = 90, ink
    return Image.fromarray(rgba, "RGBA")


def crcs_fixed(raw, rng):
    """A mutation of the PNG with every chunk's CRC made right again: it reaches Pillow's decoder."""
    return fuzz.fix_png_crcs(fuzz.mutate(raw, rng, 33)[0])


def edge_dimensions(raw, rng: random.Random):
    """The PNG's IHDR width and height set to edge values (CRC fixed): the size bound, Pillow's own."""
    width, height = (rng.choice((0, 1, 7071, 7072, 9460, 20_000, 2**31 - 1, 2**32 - 1, rng.getrandbits(16))) for _ in "wh")
    return fuzz.fix_png_crcs(raw[:16] + struct.pack(">2I", width, height) + raw[24:])


def sof_dimensions(raw, rng: random.Random):
    """The JPEG's frame header (SOF0/SOF2) height and width set to edge values (16 bits each)."""
    at = max(raw.find(b"\xff\xc0"), raw.find(b"\xff\xc2"))
    height, width = (rng.choice((0, 1, 17, 255, 7072, 0x7FFF, 0xFFFF, rng.getrandbits(16))) for _ in "hw")
    return raw[: at + 5] + struct.pack(">2H", height, width) + raw[at + 9 :]


def test_fuzz_png(digits, tmp_path):
    seeds = [encoded(Image.fromarray(255 - digits[0]), "PNG"), encoded(transparent(digits[1]), "PNG")]
    outcomes = fuzz.fuzz(seeds, image_to_digits, PredictError, tmp_path, "digit.png", COUNT, SEED, header=33,
                         variants=[crcs_fixed, crcs_fixed, edge_dimensions])
    print(f"\nfuzz PNG: {dict(outcomes)}")
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0, outcomes


def test_fuzz_jpeg(digits, tmp_path):
    seeds = [encoded(Image.fromarray(255 - digits[0]).convert("RGB"), "JPEG", quality=90),
             encoded(Image.fromarray(digits[1]), "JPEG", quality=75, progressive=True)]
    outcomes = fuzz.fuzz(seeds, image_to_digits, PredictError, tmp_path, "digit.jpg", COUNT, SEED + 1, header=200,
                         variants=[sof_dimensions])
    print(f"\nfuzz JPEG: {dict(outcomes)}")
    assert outcomes["parsed"] > 0 and outcomes["refused"] > 0, outcomes


def test_fuzz_tiff_and_gif(digits, tmp_path):
    """Beyond PNG and JPEG: libtiff (LZW TIFF) and the GIF decoder, an animation among the seeds."""
    tiffs = [encoded(Image.fromarray(255 - digits[0]), "TIFF", compression="tiff_lzw"),
             encoded(Image.fromarray(digits[1]), "TIFF")]
    gif = [encoded(Image.fromarray(255 - digits[0]), "GIF", save_all=True, append_images=[Image.fromarray(255 - digits[1])])]
    for kind, seeds, name in (("TIFF", tiffs, "digit.tif"), ("GIF", gif, "digit.gif")):
        outcomes = fuzz.fuzz(seeds, image_to_digits, PredictError, tmp_path, name, COUNT, SEED + len(name))
        print(f"\nfuzz {kind}: {dict(outcomes)}")
        assert outcomes["parsed"] > 0 and outcomes["refused"] > 0, outcomes
