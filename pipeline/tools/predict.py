"""Predict: read the digit in image files (PNG, JPEG, ...) with the trained model.

Each image goes through the page's own preprocessing (pipeline.preprocess, the
port of site_template/js/preprocess.js), so a file is read the way the page
reads a drawing:

  1. the ink. An image whose border is transparent (a canvas saved with
     toDataURL, a sticker-style PNG) is ink where it is opaque: ink = alpha,
     exactly what the page reads from its canvas. Any other image is read in
     grey: its border tells the background, light (dark ink, paper) or dark
     (light ink, MNIST-style); ink is the distance from the background,
     stretched to 0-255. In a photo or a JPEG (a border that is not one flat
     colour, or a lossy format) everything within NOISE_FRACTION of the
     contrast counts as background (paper grain, JPEG ringing); a clean
     lossless image keeps every level, so a canvas flattened onto white or
     black reads the same as the canvas itself.
  2. crop to the ink, fit the longer side to 20 px, centre of mass in 28x28.

Reads ARTIFACTS/model.keras, or with runtime "tfjs" the shipped model
ARTIFACTS/tfjs/ run by the page's own runtime (TensorFlow.js + wasm) in Node.
Images of up to MAX_PIXELS (50 megapixels, checked from the header before
decoding), 8 or 16 bits per channel, in one of the raster formats RASTER_FORMATS
(PNG, JPEG, GIF, TIFF, WebP, BMP), whatever the file's name: Pillow is never
asked to guess among its other formats, some of which run programs (PostScript
goes to Ghostscript). EXIF rotation is applied; of an animated or multi-page file
the first frame is read. A file that cannot be read is one PredictError line
naming it. The work is bounded in memory and time as well as in bytes: a small
file can ask for much (a 7000x7000 grid of dots is 12 million marks), so marks
are counted on arrays before any is grouped (pipeline.tools.segment).
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import stat
import struct
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np

from pipeline import artifacts, calibration
from pipeline.contract import LABELS, NUM_DIGITS
from pipeline.preprocess import to_mnist
from pipeline.tools import segment

BORDER_FRACTION = 0.02  # width of the border that tells the background, fraction of the shorter side (≥ 1 px)
TRANSPARENT_BORDER = 128  # median border alpha (0-255) below which the image is ink-on-transparent
NOISE_FRACTION = 0.15  # ink within this fraction of (peak − background) of the background counts as background
MIN_CONTRAST = 40  # grey levels (0-255) between background and the darkest/lightest ink; less is a blank image
LOSSY_FORMATS = {"JPEG", "MPO", "WEBP"}  # Pillow format names whose pixels carry compression noise
RASTER_FORMATS = ("PNG", "JPEG", "GIF", "TIFF", "WEBP", "BMP")  # the only decoders Pillow may use (JPEG's also opens
# a phone's multi-picture JPEG, format MPO)
MAX_PIXELS = 50_000_000  # the largest image decoded, width x height: a 50-megapixel phone photo (a grey PNG that
# size takes 230 MB and 2 s to read); checked from the header, before any pixel is decoded
DECODE_ERRORS = (OSError, SyntaxError, ValueError, TypeError, EOFError, struct.error, zlib.error)  # what Pillow
# raises on malformed bytes (TypeError: a TIFF tag of the wrong type); the fuzz tests, and 6,000 mutations each of
# GIF, TIFF, BMP, WebP and ICO files, found no other


class PredictError(Exception):
    """An image cannot be read or holds no digit, or there is no model. One line for the user."""


@dataclasses.dataclass(frozen=True)
class Ink:
    """The ink of an image. ink: uint8 (H, W), 0 = none, 255 = solid.
    polarity: how it was found: 'alpha', 'dark-on-light' or 'light-on-dark'."""

    ink: np.ndarray
    polarity: str


def _border(values: np.ndarray) -> np.ndarray:
    """The pixels of the outer ring of a (H, W) array, BORDER_FRACTION of the shorter side wide."""
    width = max(1, round(BORDER_FRACTION * min(values.shape)))
    mask = np.zeros(values.shape, bool)
    mask[:width], mask[-width:], mask[:, :width], mask[:, -width:] = True, True, True, True
    return values[mask]


def open_image(path: Path):
    """Decode an image file fully with Pillow (upright per its EXIF, the first frame of an animation);
    PredictError if it cannot. Returns (image, lossy): image in mode L, or RGBA when it has transparency
    (16-bit grey scaled to 8 bits); lossy is whether the format adds compression noise."""
    from PIL import Image, UnidentifiedImageError

    with _opened(path) as file:
        try:
            with warnings.catch_warnings(), _native_stderr_dropped():
                # Pillow warns, over several lines, of a possible decompression bomb (the bound below is stricter
                # and says so in one line) and of corrupt EXIF data it skips: neither reaches the user.
                warnings.simplefilter("ignore")
                return _decode(Image.open(file, formats=RASTER_FORMATS), path)
        except Image.DecompressionBombError:  # Pillow's own refusal, above 2 x Image.MAX_IMAGE_PIXELS
            raise PredictError(f"{path}: more than {2 * Image.MAX_IMAGE_PIXELS / 1e6:.0f} megapixels; "
                               f"predict reads images of up to {MAX_PIXELS / 1e6:.0f} megapixels") from None
        except UnidentifiedImageError:
            raise PredictError(f"{path}: not an image predict reads (expected PNG, JPEG, GIF, TIFF, WebP or BMP)") from None
        except DECODE_ERRORS as err:  # truncated or corrupt data
            message = str(err).splitlines()[0] if str(err).strip() else type(err).__name__
            raise PredictError(f"{path}: broken image data ({message})") from None


@contextlib.contextmanager
def _native_stderr_dropped():
    """Drop what native decoders print straight to file descriptor 2 meanwhile (libtiff: "Using code not
    yet in table."): a broken file is reported in one line, and a sound file's quirks are not news."""
    sys.stderr.flush()
    saved = os.dup(2)
    null = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(null, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(null)


@contextlib.contextmanager
def _opened(path: Path):
    """`path` opened for reading if it is a regular file (a FIFO would block for ever); PredictError if not."""
    try:
        kind = path.stat().st_mode
        if stat.S_ISDIR(kind):
            raise PredictError(f"{path}: is a folder, expected an image file")
        if not stat.S_ISREG(kind):
            raise PredictError(f"{path}: not a regular file, expected an image file")
        file = path.open("rb")
    except FileNotFoundError:
        raise PredictError(f"{path}: no such file") from None
    except OSError as err:  # permission denied, a symlink loop
        raise PredictError(f"{path}: cannot read ({err.strerror or err})") from None
    with file:
        yield file


def _decode(image, path: Path):
    """Check the size from the header, then decode; (image in mode L or RGBA, lossy)."""
    from PIL import Image, ImageOps

    width, height = image.size
    if width * height > MAX_PIXELS:
        raise PredictError(f"{path}: {width}x{height} pixels ({width * height / 1e6:.0f} megapixels); "
                           f"predict reads images of up to {MAX_PIXELS / 1e6:.0f} megapixels")
    if image.mode in ("I", "F"):
        raise PredictError(f"{path}: 32-bit {'integer' if image.mode == 'I' else 'float'} pixels are not read; "
                           "save it with 8 or 16 bits per channel")
    image.load()  # decode now: a truncated file fails here, not later
    lossy = image.format in LOSSY_FORMATS
    image = ImageOps.exif_transpose(image)
    if image.mode.startswith("I;16"):  # 16-bit grey: 0-65535 scaled to 0-255, rounded
        grey = np.asarray(image).astype(np.uint32)
        return Image.fromarray(((grey + 128) // 257).astype(np.uint8), "L"), lossy
    has_alpha = image.mode in ("RGBA", "LA", "PA", "RGBa") or "transparency" in image.info
    try:
        return image.convert("RGBA" if has_alpha else "L"), lossy
    except ValueError:  # a mode Pillow decodes but cannot convert (CIE L*a*b*, say)
        raise PredictError(f"{path}: pixels in mode {image.mode} are not read; save it as RGB or greyscale") from None


def read_ink(image, lossy: bool = False) -> Ink:
    """The ink of a Pillow image (see the module docstring), uint8 (H, W).
    lossy: the image came from a lossy format (JPEG), so faint levels are noise."""
    from PIL import Image

    has_alpha = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
    if has_alpha:
        rgba = np.asarray(image.convert("RGBA"))
        alpha = rgba[..., 3]
        if np.median(_border(alpha)) < TRANSPARENT_BORDER:
            return Ink(alpha.copy(), "alpha")
        # An opaque background: flatten what is translucent onto the border's colour.
        colour = tuple(int(np.median(_border(rgba[..., c]))) for c in range(3)) + (255,)
        image = Image.alpha_composite(Image.new("RGBA", image.size, colour), image.convert("RGBA"))
    grey = np.asarray(image.convert("L"))  # uint8
    dark_on_light = np.median(_border(grey)) >= 128
    ink = 255 - grey if dark_on_light else grey  # uint8: 255 - grey stays in 0-255
    background = float(np.median(_border(ink)))
    peak = float(ink.max())
    polarity = "dark-on-light" if dark_on_light else "light-on-dark"
    if peak - background < MIN_CONTRAST:
        return Ink(np.zeros(ink.shape, np.uint8), polarity)
    clean = not lossy and np.ptp(_border(ink)) == 0
    floor = background + (0.0 if clean else NOISE_FRACTION) * (peak - background)
    # The stretch as a table of the 256 levels: the same float64 arithmetic per level, one uint8 look-up per
    # pixel (no float copies of a big image).
    stretched = np.clip((np.arange(256) - floor) / (peak - floor), 0.0, 1.0)
    return Ink(np.round(stretched * 255).astype(np.uint8)[ink], polarity)


def image_to_mnist(path: Path) -> tuple[np.ndarray, str]:
    """An image file as the model's input: (float32 (28, 28), 0-1, white on black; polarity).
    PredictError if it cannot be read or holds no ink."""
    ink = read_ink(*open_image(path))
    image = to_mnist(ink.ink)
    if image is None:
        raise PredictError(f"{path}: no digit found (the image is blank)")
    return image, ink.polarity


def image_to_digits(path: Path) -> tuple[list[tuple[np.ndarray, tuple[int, int, int, int]]], str]:
    """The digits of an image file, left to right, as the model's inputs: ([(float32 (28, 28), 0-1,
    white on black; box (x, y, width, height) in the image's pixels)], polarity). Each digit's ink is
    preprocessed exactly as a whole image is (to_mnist); an image of one digit and nothing else gives
    the same input as image_to_mnist. PredictError if it cannot be read or holds no ink."""
    ink = read_ink(*open_image(path))
    try:
        digits = segment.find_digits(ink.ink)
    except segment.TooManyMarks as err:
        raise PredictError(f"{path}: no number found ({err})") from None
    if not digits:
        raise PredictError(f"{path}: no digit found (the image is blank)")
    return [(to_mnist(d.ink), d.box) for d in digits], ink.polarity


def load_model(artifacts_dir: Path):
    """ARTIFACTS/model.keras, loaded for inference."""
    path = artifacts_dir / artifacts.MODEL_FILE
    if not path.is_file():
        raise PredictError(f"{path}: no trained model (run `pipeline train` first)")
    try:
        return artifacts.load_keras_model(path)
    except artifacts.ArtifactError as err:  # corrupt or not a Keras model: one line, like the other commands
        raise PredictError(str(err)) from None


RUNTIMES = ("keras", "tfjs")


def predict_tfjs(artifacts_dir: Path, batch: np.ndarray, node_modules: Path) -> np.ndarray:
    """Probabilities (N, 11) of the tfjs graph model ARTIFACTS/tfjs/ for float32 (N, 28, 28, 1) images,
    run in Node with @tensorflow/tfjs + wasm from `node_modules` (as the export check runs it)."""
    from pipeline import export

    model_dir = artifacts_dir / artifacts.TFJS_DIR
    if not (model_dir / artifacts.TFJS_MODEL_FILE).is_file():
        raise PredictError(f"{model_dir / artifacts.TFJS_MODEL_FILE}: no tfjs model (run `pipeline export` first)")
    try:
        return export.predict_tfjs(model_dir, batch, node_modules)[0]
    except export.ExportError as err:
        raise PredictError(str(err)) from None


def predict_files(paths: list[Path], artifacts_dir: Path, runtime: str = "keras",
                  node_modules: Path = Path("node_modules")) -> list[dict]:
    """Read every image first (so a bad file fails before the model loads), find the digits in each
    (pipeline.tools.segment), then predict all digits of all images in one batch with the Keras model
    or (runtime "tfjs") the shipped TensorFlow.js model.

    Returns one dict per image: image (path as given), number (its digits left to right, a string,
    "?" where a digit is doubtful), doubt (what is doubtful, in words, as the page says it; "" when
    nothing is), digits (per digit: digit (int, the likeliest digit), shown, sure and between
    (pipeline.calibration.judge), probabilities (eleven floats summing to 1: the ten digits', then
    not a digit's), box [x, y, width, height]
    in the image's pixels), polarity; and, for an image of one digit, that digit's digit and
    probabilities (None for a number).
    """
    if runtime not in RUNTIMES:
        raise PredictError(f"--runtime: expected one of {', '.join(RUNTIMES)}, got {runtime!r}")
    images = [image_to_digits(Path(p)) for p in paths]
    batch = np.stack([image for digits, _ in images for image, _ in digits])[..., None]
    if runtime == "tfjs":
        probabilities = np.asarray(predict_tfjs(artifacts_dir, batch, node_modules), np.float64)
    else:
        model = load_model(artifacts_dir)
        probabilities = np.asarray(model.predict(batch, batch_size=256, verbose=0), np.float64)
    results, start = [], 0
    for path, (digits, polarity) in zip(paths, images):
        read = [{"digit": int(p[:NUM_DIGITS].argmax()), **calibration.judge(p), "probabilities": [round(float(v), 6) for v in p],
                 "box": list(box)} for p, (_, box) in zip(probabilities[start : start + len(digits)], digits)]
        start += len(digits)
        alone = read[0] if len(read) == 1 else {"digit": None, "probabilities": None}
        results.append({"image": str(path), "number": "".join(d["shown"] for d in read),
                        "doubt": calibration.doubt_sentence(read), "digit": alone["digit"],
                        "probabilities": alone["probabilities"], "digits": read, "polarity": polarity})
    return results


def to_json(results: list[dict]) -> str:
    return json.dumps(results, indent=2)


def to_text(results: list[dict]) -> str:
    """One row per image of one digit: the digit ("?" when doubtful) and its probabilities (the ten digits',
    then not a digit's, under "?"). An image
    of a number: a row with the number, then one row per digit, named by its place and box (x,y width x
    height, pixels). A reading with a doubt is followed by a row that says it ("4 or 9?")."""
    def row(name: str, digit: dict) -> tuple[str, str, str]:
        return name, digit["shown"], " ".join(f"{p:5.3f}" for p in digit["probabilities"])

    rows = []
    for r in results:
        if len(r["digits"]) == 1:
            rows.append(row(r["image"], r["digits"][0]))
        else:
            rows.append((r["image"], r["number"], ""))
            for k, d in enumerate(r["digits"], 1):
                rows.append(row(f"  {k}: {d['box'][0]},{d['box'][1]} {d['box'][2]}x{d['box'][3]}", d))
        if r["doubt"]:
            rows.append((f"  {r['doubt']}", "", ""))
    name_width = max(len(name) for name, _, _ in [("image", "", ""), *rows])
    digit_width = max(len(digit) for _, digit, _ in [("", "digit", ""), *rows])
    header = f"{'image':<{name_width}}  {'digit':>{digit_width}}  " + " ".join(f"{d:>5}" for d in (*LABELS, "?"))
    lines = [f"{name:<{name_width}}  {digit:>{digit_width}}  {probabilities}".rstrip() for name, digit, probabilities in rows]
    return "\n".join([header, *lines])
