"""Images in every mode and container Pillow opens, and hostile or broken files, given to `pipeline predict`.

Unusual but sound images (16-bit grey, CMYK JPEG, animated GIF, TIFF, palette with alpha) read as the
plain 8-bit PNG of the same digit does. Bad files, run through the real CLI as a child process, end with
exactly one line on stderr naming the file, exit code 1, no Pillow warning and nothing written, before
any model is loaded. The rows of docs/hardening.md's image table."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from PIL import Image

from pipeline.tools.predict import MAX_PIXELS, PredictError, image_to_digits, image_to_mnist, open_image
from tests.helpers import check_one_line, finished, one_line_failure, pipeline_cli, png_claiming, start_cli_noting_imports

SIDE = 112  # pixels: an MNIST digit scaled 4x


@pytest.fixture(scope="module")
def ink(mnist):
    """Two MNIST test digits as ink, uint8 (SIDE, SIDE), 0 = none: a 7 and a 2."""
    return [np.asarray(Image.fromarray(mnist.x_test[i]).resize((SIDE, SIDE), Image.Resampling.BILINEAR)) for i in (0, 1)]


def read(path):
    image, polarity = image_to_mnist(path)
    return image


# ---------------------------------------------------------------- sound images


def test_16_bit_grey_png_reads_as_its_8_bit_twin(ink, tmp_path):
    Image.fromarray(255 - ink[0]).save(tmp_path / "8.png")
    Image.fromarray((255 - ink[0]).astype(np.uint16) * 257).save(tmp_path / "16.png")
    assert Image.open(tmp_path / "16.png").mode == "I;16"
    assert np.array_equal(read(tmp_path / "16.png"), read(tmp_path / "8.png"))


def test_tiff_and_palette_with_alpha_read_as_the_png(ink, tmp_path):
    reference = read_saved(Image.fromarray(255 - ink[0]), tmp_path / "ref.png")
    assert np.array_equal(read_saved(Image.fromarray(255 - ink[0]), tmp_path / "d.tif"), reference)
    rgba = np.zeros((SIDE, SIDE, 4), np.uint8)
    rgba[..., 2], rgba[..., 3] = 90, ink[0]  # navy ink, alpha = coverage, on transparent
    palette = Image.fromarray(ink[0], "P")  # the same as a palette: index = coverage, entry = navy, alpha = index
    palette.putpalette([0, 0, 90] * 256)
    palette.info["transparency"] = bytes(range(256))
    assert np.array_equal(read_saved(palette, tmp_path / "pa.png"), read_saved(Image.fromarray(rgba), tmp_path / "a.png"))
    assert Image.open(tmp_path / "pa.png").mode == "P" and "transparency" in Image.open(tmp_path / "pa.png").info


def read_saved(image, path):
    image.save(path)
    return read(path)


def test_cmyk_jpeg_reads_like_the_png(ink, tmp_path):
    reference = read_saved(Image.fromarray(255 - ink[0]), tmp_path / "ref.png")
    Image.fromarray(255 - ink[0]).convert("CMYK").save(tmp_path / "cmyk.jpg", quality=90)
    assert Image.open(tmp_path / "cmyk.jpg").mode == "CMYK"
    assert np.abs(read(tmp_path / "cmyk.jpg") - reference).mean() < 0.03  # lossy: close, not equal


def test_animated_gif_is_read_from_its_first_frame(ink, tmp_path):
    first, second = (Image.fromarray(255 - i) for i in ink)
    first.save(tmp_path / "two.gif", save_all=True, append_images=[second], duration=100)
    assert Image.open(tmp_path / "two.gif").n_frames == 2
    got = read(tmp_path / "two.gif")
    assert np.array_equal(got, read_saved(first, tmp_path / "first.png"))
    assert not np.array_equal(got, read_saved(second, tmp_path / "second.png"))


# ------------------------------------------------------------------- bad files


def saved(image, name, **options):
    def make(tmp_path):
        image.save(tmp_path / name, **options)
        return tmp_path / name
    return make


def written(name, content):
    def make(tmp_path):
        (tmp_path / name).write_bytes(content(tmp_path) if callable(content) else content)
        return tmp_path / name
    return make


def cut(image, name, keep, **options):
    def make(tmp_path):
        image.save(tmp_path / name, **options)
        (tmp_path / name).write_bytes((tmp_path / name).read_bytes()[:keep])
        return tmp_path / name
    return make


def flipped_byte(image, name, at):
    def make(tmp_path):
        image.save(tmp_path / name)
        raw = bytearray((tmp_path / name).read_bytes())
        raw[at] ^= 0xFF
        (tmp_path / name).write_bytes(bytes(raw))
        return tmp_path / name
    return make


def made(action):
    def make(tmp_path):
        return action(tmp_path)
    return make


def lzw_tiff_broken(tmp_path):
    NOISE.save(tmp_path / "lzw.tif", compression="tiff_lzw")
    raw = bytearray((tmp_path / "lzw.tif").read_bytes())
    raw[100:140] = b"\xff" * 40  # inside the LZW strip: codes libtiff has no entry for
    (tmp_path / "lzw.tif").write_bytes(bytes(raw))
    return tmp_path / "lzw.tif"


NOISE = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8))
PIXELS_LIMIT = f"predict reads images of up to {MAX_PIXELS // 10**6} megapixels"

# id -> (make(tmp_path) -> the path given to predict, what the one line says after the path)
CASES = {
    "a text file named .png": (written("notes.png", b"this is text, not a picture"), "not an image predict reads"),
    "an empty file": (written("empty.png", b""), "not an image predict reads"),
    "a zip named .png": (written("z.png", b"PK\x03\x04" + bytes(60)), "not an image predict reads"),
    "a folder": (made(lambda t: (t / "pics.png").mkdir() or t / "pics.png"), "is a folder, expected an image file"),
    "a missing file": (made(lambda t: t / "missing.png"), "no such file"),
    "a FIFO": (made(lambda t: os.mkfifo(t / "pipe.png") or t / "pipe.png"), "not a regular file, expected an image file"),
    "a symlink loop": (made(lambda t: (t / "a.png").symlink_to(t / "b.png") or (t / "b.png").symlink_to(t / "a.png")
                            or t / "a.png"), "cannot read (Too many levels of symbolic links)"),
    "a truncated PNG": (cut(NOISE, "cut.png", 200), "broken image data (image file is truncated"),
    "a truncated JPEG": (cut(NOISE, "cut.jpg", 600), "broken image data (image file is truncated"),
    "a PNG with a bad header checksum": (flipped_byte(NOISE, "crc.png", 29), "not an image predict reads"),
    "a PNG with a corrupt byte in its pixel data": (flipped_byte(NOISE, "idat.png", -20), "broken image data ("),
    "an LZW TIFF with corrupt data (libtiff prints to stderr)": (lzw_tiff_broken, "broken image data (decoder error -2)"),
    "a PNG whose pixel data is not zlib": (written("zlib.png", png_claiming(64, 64, idat=b"not zlib at all")),
                                           "broken image data ("),
    "a blank white image": (saved(Image.new("RGB", (64, 64), "white"), "blank.png"), "no digit found (the image is blank)"),
    "a TIFF in CIE L*a*b*": (saved(Image.new("LAB", (64, 64), (50, 0, 0)), "lab.tif"),
                              "pixels in mode LAB are not read; save it as RGB or greyscale"),
    "a 32-bit float TIFF": (saved(Image.fromarray(np.ones((64, 64), np.float32)), "f.tif"),
                            "32-bit float pixels are not read; save it with 8 or 16 bits per channel"),
    "a PNG header of 60 megapixels (below Pillow's warning)": (
        written("60mp.png", png_claiming(10_000, 6_000)), f"10000x6000 pixels (60 megapixels); {PIXELS_LIMIT}"),
    "a PNG header of 100 megapixels (Pillow warns)": (
        written("100mp.png", png_claiming(10_000, 10_000)), f"10000x10000 pixels (100 megapixels); {PIXELS_LIMIT}"),
    "a PNG header of 200 megapixels (Pillow refuses)": (
        written("200mp.png", png_claiming(20_000, 10_000)), f"more than 179 megapixels; {PIXELS_LIMIT}"),
}


@pytest.mark.parametrize("case", CASES, ids=list(CASES))
def test_bad_image_is_one_line_naming_it(tmp_path, case):
    make, message = CASES[case]
    path = make(tmp_path)
    before = sorted(tmp_path.iterdir())
    result = pipeline_cli("predict", "--artifacts", tmp_path / "no-model", path, timeout=30)
    one_line_failure(result, f"Error: {path}: {message}")
    assert sorted(tmp_path.iterdir()) == before, "nothing written"


def test_the_first_bad_file_stops_predict_before_the_model_loads(tmp_path):
    good = tmp_path / "one.png"
    Image.fromarray(np.pad(np.full((20, 6), 255, np.uint8), 10)).save(good)
    (tmp_path / "bad.png").write_bytes(b"junk")
    result = pipeline_cli("predict", "--artifacts", tmp_path / "no-model", good, tmp_path / "bad.png")
    one_line_failure(result, f"{tmp_path / 'bad.png'}: not an image")  # not the missing model


def test_a_file_that_is_no_image_is_refused_before_scipy_loads(tmp_path):
    """SciPy, 0.4 s to import, only finds the digits of a number: a file that is no image never needs it."""
    (tmp_path / "bad.png").write_bytes(b"junk")
    code, err = finished(start_cli_noting_imports(("scipy",), "predict", "--artifacts", "no-model", "bad.png", cwd=tmp_path))
    check_one_line(code, err, ["bad.png: not an image"])


def test_a_huge_header_is_refused_in_process_without_a_warning(tmp_path):
    (tmp_path / "big.png").write_bytes(png_claiming(10_000, 10_000))
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        with pytest.raises(PredictError, match=r"10000x10000 pixels \(100 megapixels\)"):
            image_to_mnist(tmp_path / "big.png")
    assert [str(w.message) for w in seen] == []  # Pillow's DecompressionBombWarning stays inside


# ---------------------------------------------------------------- open_image and _decode in process: the exact words


def test_a_format_outside_the_raster_list_is_refused_though_pillow_reads_it(tmp_path):
    """PPM is a format Pillow opens: predict never asks it to, so the file is not an image it reads."""
    Image.new("L", (20, 20), 255).save(tmp_path / "digit.ppm")
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'digit.ppm'}: not an image predict reads \(expected PNG, "
                                           r"JPEG, GIF, TIFF, WebP or BMP\)$"):
        open_image(tmp_path / "digit.ppm")


def test_pillows_own_refusal_of_a_giant_header_says_both_bounds_in_process(tmp_path):
    """Above 2 x Image.MAX_IMAGE_PIXELS (2 x 89,478,485 = 178,956,970 pixels, 179 megapixels rounded) Pillow
    refuses before the size check: the line gives its bound and predict's own, 50 megapixels."""
    (tmp_path / "200mp.png").write_bytes(png_claiming(20_000, 10_000))
    with pytest.raises(PredictError, match=rf"^{tmp_path / '200mp.png'}: more than 179 megapixels; predict reads "
                                           r"images of up to 50 megapixels$"):
        open_image(tmp_path / "200mp.png")


def test_the_megapixels_of_a_refused_header_are_rounded_to_the_nearest(tmp_path):
    """5116 x 9871 = 50,500,036 pixels: 50.500036 megapixels, which round to 51."""
    (tmp_path / "big.png").write_bytes(png_claiming(5116, 9871))
    with pytest.raises(PredictError, match=r"big.png: 5116x9871 pixels \(51 megapixels\); predict reads images of up "
                                           r"to 50 megapixels$"):
        open_image(tmp_path / "big.png")


def test_broken_data_is_named_by_the_first_line_of_pillows_message_in_process(tmp_path):
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8))
    image.save(tmp_path / "cut.png")
    (tmp_path / "cut.png").write_bytes((tmp_path / "cut.png").read_bytes()[:200])
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'cut.png'}: broken image data \(image file is truncated"):
        open_image(tmp_path / "cut.png")


@pytest.mark.parametrize("error, said", [(EOFError(), "EOFError"), (ValueError("first line\nsecond line"), "first line"),
                                         (OSError("  "), "OSError")])
def test_a_decode_error_without_words_is_named_by_its_type_and_a_long_one_by_its_first_line(tmp_path, monkeypatch,
                                                                                            error, said):
    """What Pillow raises may have no message, or several lines: the line stays one line, never empty."""
    from pipeline.tools import predict

    Image.new("L", (20, 20), 255).save(tmp_path / "digit.png")

    def fails(image, path):
        raise error
    monkeypatch.setattr(predict, "_decode", fails)
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'digit.png'}: broken image data \({said}\)$"):
        open_image(tmp_path / "digit.png")


def test_a_mode_pillow_cannot_convert_is_refused_naming_it_in_process(tmp_path):
    Image.new("LAB", (64, 64), (50, 0, 0)).save(tmp_path / "lab.tif")
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'lab.tif'}: pixels in mode LAB are not read; save it as RGB "
                                           r"or greyscale$"):
        open_image(tmp_path / "lab.tif")


def test_a_blank_image_or_a_texture_holds_no_digit_naming_the_file_in_process(tmp_path):
    Image.new("L", (64, 64), 255).save(tmp_path / "blank.png")
    for read in (image_to_mnist, image_to_digits):
        with pytest.raises(PredictError, match=rf"^{tmp_path / 'blank.png'}: no digit found \(the image is blank\)$"):
            read(tmp_path / "blank.png")
    ink = np.zeros((2000, 2000), np.uint8)
    ink[1::4, 1::4] = 255  # 500 x 500 = 250,000 dots
    Image.fromarray(255 - ink).save(tmp_path / "halftone.png")
    with pytest.raises(PredictError, match=rf"^{tmp_path / 'halftone.png'}: no number found \(250000 separate marks; "
                                           r"a number has at most 1000\)$"):
        image_to_digits(tmp_path / "halftone.png")


def test_grey_and_colour_files_decode_to_grey_and_only_transparent_ones_to_rgba(tmp_path):
    """open_image gives mode L for an opaque image, grey or colour, and RGBA for one with alpha; lossy is True
    for JPEG only."""
    rgb = np.zeros((20, 20, 3), np.uint8)
    rgb[..., 0] = 200
    Image.fromarray(rgb).save(tmp_path / "rgb.png")
    Image.fromarray(rgb).save(tmp_path / "rgb.jpg")
    Image.new("L", (20, 20), 100).save(tmp_path / "grey.png")
    Image.new("RGBA", (20, 20), (0, 0, 0, 0)).save(tmp_path / "clear.png")
    modes = {name: open_image(tmp_path / name) for name in ("rgb.png", "rgb.jpg", "grey.png", "clear.png")}
    assert {name: (image.mode, lossy) for name, (image, lossy) in modes.items()} == {
        "rgb.png": ("L", False), "rgb.jpg": ("L", True), "grey.png": ("L", False), "clear.png": ("RGBA", False)}
    assert modes["grey.png"][0].getpixel((5, 5)) == 100


def test_16_bit_grey_is_scaled_to_8_bits_rounding_to_the_nearest(tmp_path):
    """v / 257 rounded: 128/257 = 0.498 -> 0, 129/257 = 0.502 -> 1, 385/257 = 1.498 -> 1, 386/257 = 1.502 -> 2,
    65535 -> 255."""
    levels = np.array([[0, 128, 129, 385, 386, 65535]], np.uint16)
    Image.fromarray(levels).save(tmp_path / "deep.png")
    image, lossy = open_image(tmp_path / "deep.png")
    assert image.mode == "L" and not lossy
    assert np.asarray(image).tolist() == [[0, 0, 1, 1, 2, 255]]


@pytest.mark.parametrize("mode", ["PA", "RGBa"])
def test_an_image_with_alpha_in_any_mode_keeps_its_alpha(tmp_path, mode):
    """Palette + alpha and premultiplied RGBA are decoded to RGBA, their alpha kept (not flattened to grey)."""
    from pipeline.tools.predict import _decode

    image = Image.new(mode, (20, 20), 0)
    image.putpixel((5, 5), (0, 255) if mode == "PA" else (0, 0, 0, 255))
    decoded, lossy = _decode(image, tmp_path / "in-memory.png")
    assert decoded.mode == "RGBA" and not lossy
    alpha = np.asarray(decoded)[..., 3]
    assert alpha[5, 5] == 255 and alpha.sum() == 255
