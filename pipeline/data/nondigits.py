"""Drawings that are not digits: what the model's 11th class, "not a digit", learns from.

A network trained on digits alone names a digit for anything, sure of itself. So
training adds drawings of other things, as a visitor would draw them on the page: pen
strokes in a unit box (x right, y down), each with a hand's variation, rendered the way
the page renders one digit for the model (`pipeline.data.pen.digit`: a round pen
DIGIT_PEN of the longer side, then the MNIST preprocessing, as
`site_template/js/drawing.js` does). They come from two places:
  sources made by others (pipeline/data/sources.py: Hershey's stroke fonts, feather
      icons): glyphs of letters, scripts, signs and icons, each redrawn with a wobbling
      hand (`handwritten`); `SOURCE_SHARE` of the drawings
  kinds written here (`STROKE_KINDS`): letters, hearts, stars, spirals, scribbles, hatching,
      polygons, arrows, ...; and two MNIST digits overlapping (what merged neighbours look
      like); the rest

TRAINED are the kinds training draws; HELD_OUT the sources it never sees
(`sources.HELD_OUT`: a whole family among them), which `make bench-nondigits` draws on
the page to measure doubt on sources training never saw, not on new samples. Shapes a
digit is written as are left out on purpose: here a circle (0), a vertical line (1), an
S (5), a Z (2); in the sources, by the rule `sources` states.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline import contract, preprocess
from pipeline.contract import IMAGE_SIZE, NOT_A_DIGIT
from pipeline.data import cache, pen, sources
from pipeline.preprocess import to_mnist

Paths = list[np.ndarray]  # strokes, each (K, 2) x, y in the unit box
SOURCE_SHARE = 0.5  # of the non-digits training draws, the share from sources made by others (the rest: STROKE_KINDS)
STEP = 0.03  # a source glyph's strokes are resampled to a point every STEP of the unit box, for the wobble to bend
WOBBLE = 0.035  # the largest bend of the whole drawing by a hand's slow wobble, unit box
STROKE_SHIFT = 0.015  # how far each stroke lands from where the glyph puts it (standard deviation, unit box)
CODE = (sys.modules[__name__], sources, pen, preprocess, contract)  # the modules whose code decides the drawings
PACKAGES = ("numpy", "pillow", "Hershey-Fonts", "svgelements", "npm:feather-icons")  # drawn with and from these
FOLDER = "nondigits"  # where training and export keep the drawings: cache.folder(FOLDER)

# Capital letters as straight strokes (x right, y down, unit box).
LETTERS = {
    "E": [[(0.8, 0), (0.2, 0), (0.2, 1), (0.8, 1)], [(0.2, 0.5), (0.7, 0.5)]],
    "F": [[(0.8, 0), (0.2, 0), (0.2, 1)], [(0.2, 0.5), (0.7, 0.5)]],
    "H": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.8, 1)], [(0.2, 0.5), (0.8, 0.5)]],
    "K": [[(0.2, 0), (0.2, 1)], [(0.8, 0), (0.2, 0.55), (0.8, 1)]],
    "M": [[(0.1, 1), (0.15, 0), (0.5, 0.6), (0.85, 0), (0.9, 1)]],
    "N": [[(0.2, 1), (0.2, 0), (0.8, 1), (0.8, 0)]],
    "X": [[(0.1, 0), (0.9, 1)], [(0.9, 0), (0.1, 1)]],
    "Y": [[(0.1, 0), (0.5, 0.5)], [(0.9, 0), (0.5, 0.5), (0.5, 1)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.3), (0.75, 1), (1, 0)]],
    "R": [[(0.2, 1), (0.2, 0), (0.65, 0), (0.8, 0.12), (0.8, 0.38), (0.65, 0.5), (0.2, 0.5)], [(0.45, 0.5), (0.8, 1)]],
}
TRAINED_LETTERS = ("E", "F", "H", "K", "M", "N", "X", "Y")
HELD_OUT_LETTERS = ("W", "R")


def catmull_rom(points: np.ndarray, samples: int = 8) -> np.ndarray:
    """A smooth curve through `points` (K, 2), `samples` points per span, ends kept."""
    if len(points) < 3:
        return points
    padded = np.concatenate([points[:1], points, points[-1:]])
    t = np.linspace(0, 1, samples, endpoint=False)[:, None]
    spans = [0.5 * (2 * p1 + (p2 - p0) * t + (2 * p0 - 5 * p1 + 4 * p2 - p3) * t**2 + (3 * p1 - p0 - 3 * p2 + p3) * t**3)
             for p0, p1, p2, p3 in zip(padded, padded[1:], padded[2:], padded[3:])]
    return np.concatenate([*spans, points[-1:]])


def _arc(cx, cy, rx, ry, start, stop, n=24) -> np.ndarray:
    t = np.linspace(start, stop, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], axis=1)


def _jitter(rng, paths, amount=0.035) -> Paths:
    return [np.asarray(p, float) + rng.normal(0, amount, (len(p), 2)) for p in paths]


def letter(names):
    def make(rng) -> Paths:
        return _jitter(rng, LETTERS[names[rng.integers(len(names))]])
    return make


def heart(rng) -> Paths:
    t = np.linspace(0, 2 * np.pi, 40)
    x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return _jitter(rng, [np.stack([x, y], axis=1) / 32 + 0.5], 0.01)


def star(rng) -> Paths:
    points = int(rng.choice([5, 5, 6, 7]))
    turn = 2 if points == 5 else 3 if points == 7 else 1
    angles = -np.pi / 2 + 2 * np.pi * turn * np.arange(points + 1) / points + rng.uniform(-0.2, 0.2)
    if points == 6:  # a star of David is two triangles
        return _jitter(rng, [_arc(0.5, 0.5, 0.5, 0.5, a, a + 2 * np.pi, 4) for a in (-np.pi / 2, np.pi / 2)], 0.02)
    return _jitter(rng, [np.stack([0.5 + 0.5 * np.cos(angles), 0.5 + 0.5 * np.sin(angles)], axis=1)], 0.03)


def spiral(rng) -> Paths:
    turns = rng.uniform(1.6, 3.2)
    t = np.linspace(0, 2 * np.pi * turns, int(30 * turns))
    r = 0.05 + 0.45 * t / t[-1]
    sign = rng.choice([-1, 1])
    return [np.stack([0.5 + r * np.cos(sign * t), 0.5 + r * np.sin(sign * t)], axis=1)]


def scribble(rng) -> Paths:
    return [catmull_rom(rng.uniform(0, 1, (int(rng.integers(9, 16)), 2))) for _ in range(int(rng.integers(1, 3)))]


def zigzag(rng) -> Paths:
    n = int(rng.integers(5, 10))
    x, y = np.linspace(0, 1, n), np.where(np.arange(n) % 2, 0.85, 0.15)
    path = np.stack([x, y * rng.uniform(0.3, 1)], axis=1)
    return _jitter(rng, [path if rng.random() < 0.6 else path[:, ::-1]], 0.03)


def plus(rng) -> Paths:
    return _jitter(rng, [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]], 0.05)


def hatch(rng) -> Paths:
    n, angle = int(rng.integers(3, 7)), rng.uniform(0, np.pi)
    d = np.array([np.cos(angle), np.sin(angle)]) * 0.5
    normal = np.array([-d[1], d[0]]) * 2
    return [np.stack([c - d, c + d]) + rng.normal(0, 0.02, (2, 2))
            for c in 0.5 + normal[None] * np.linspace(-0.4, 0.4, n)[:, None]]


def triangle(rng) -> Paths:
    while True:  # a fat one: a sliver would be a 1 or a 7
        corners = rng.uniform(0, 1, (3, 2))
        (ax, ay), (bx, by) = corners[1] - corners[0], corners[2] - corners[0]
        if abs(ax * by - ay * bx) / 2 > 0.15:
            return [np.concatenate([corners, corners[:1]])]


def polygon(rng) -> Paths:
    """A closed shape of 4-6 nearly even corners with a level line across it, wall to wall: angular, and no
    0 (a 0 is round, and slashed, if at all, at a slant)."""
    n = int(rng.integers(4, 7))
    angles = rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.arange(n) / n + rng.uniform(-0.2, 0.2, n)
    corners = np.stack([np.cos(angles), np.sin(angles)], axis=1) * rng.uniform(0.42, 0.5, (n, 1)) + 0.5
    ring = np.concatenate([corners, corners[:1]])
    y = rng.uniform(ring[:, 1].min(), ring[:, 1].max(), 1)[0] * 0.4 + 0.3 * (ring[:, 1].min() + ring[:, 1].max())
    crossings = [a[0] + (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) for a, b in zip(ring, ring[1:])
                 if (a[1] - y) * (b[1] - y) < 0]
    return [ring, np.array([[min(crossings), y], [max(crossings), y]])]


def chevron(rng) -> Paths:
    """<, ^ or v (not >: turned a little, it is the corner of a 7), arms 40-110° apart."""
    half = rng.uniform(0.35, 0.95)
    towards = rng.choice([0.0, -np.pi / 2, np.pi / 2]) + rng.uniform(-0.15, 0.15)  # the arms point right, up or down
    arms = [np.array([np.cos(towards + side * half), np.sin(towards + side * half)]) for side in (-1, 1)]
    return [np.array([arms[0], [0, 0], arms[1] * rng.uniform(0.8, 1.25)])]


def stray_lines(rng) -> Paths:
    """3-5 straight strokes anywhere, each at least 0.4 of the box long (two could be a 1 with its flag)."""
    lines, count = [], int(rng.integers(3, 6))
    while len(lines) < count:
        a, b = rng.uniform(0, 1, (2, 2))
        if np.linalg.norm(b - a) >= 0.4:
            lines.append(np.stack([a, b]))
    return lines


def dots(rng) -> Paths:
    return [rng.uniform(0, 1, (1, 2)) for _ in range(int(rng.integers(1, 6)))]


def dash(rng) -> Paths:
    angle = rng.uniform(-0.6, 0.6)  # within about 35° of level: a 1 stands
    return [np.array([[0, 0], [np.cos(angle), np.sin(angle)]]) + rng.normal(0, 0.01, (2, 2))]


def smiley(rng) -> Paths:
    return _jitter(rng, [_arc(0.5, 0.5, 0.5, 0.5, 0, 2 * np.pi, 30), [(0.33, 0.35)], [(0.67, 0.35)],
                         _arc(0.5, 0.5, 0.28, 0.25, 0.3, np.pi - 0.3, 12)], 0.015)


def house(rng) -> Paths:
    return _jitter(rng, [[(0.1, 0.45), (0.1, 1), (0.9, 1), (0.9, 0.45), (0.1, 0.45), (0.5, 0), (0.9, 0.45)]], 0.03)


def hash_sign(rng) -> Paths:
    return _jitter(rng, [[(0.35, 0), (0.3, 1)], [(0.7, 0), (0.65, 1)], [(0, 0.33), (1, 0.33)], [(0, 0.67), (1, 0.67)]])


def arrow(rng) -> Paths:
    return _jitter(rng, [[(0, 0.5), (1, 0.5)], [(0.7, 0.25), (1, 0.5), (0.7, 0.75)]])


def wave(rng) -> Paths:
    periods = rng.uniform(1.5, 3)
    x = np.linspace(0, 1, 40)
    return [np.stack([x, 0.5 + rng.uniform(0.1, 0.25) * np.sin(2 * np.pi * periods * x)], axis=1)]


def crossed_box(rng) -> Paths:
    return _jitter(rng, [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0, 0), (1, 1)], [(1, 0), (0, 1)]], 0.03)


STROKE_KINDS: dict[str, Callable[[np.random.Generator], Paths]] = {
    "letters": letter(TRAINED_LETTERS), "heart": heart, "star": star, "spiral": spiral, "scribble": scribble,
    "zigzag": zigzag, "plus": plus, "hatch": hatch, "triangle": triangle, "polygon": polygon, "chevron": chevron,
    "stray lines": stray_lines, "dots": dots, "dash": dash, "other letters": letter(HELD_OUT_LETTERS),
    "smiley": smiley, "house": house, "hash": hash_sign, "arrow": arrow, "wave": wave, "crossed box": crossed_box,
}
OVERLAP = "overlapping digits"
OWN = (*STROKE_KINDS, OVERLAP)  # the kinds written here
TRAINED = (*OWN, *sources.TRAINED)  # every kind training draws
HELD_OUT = sources.HELD_OUT  # sources training never sees: what `make bench-nondigits` measures


def _resampled(stroke: np.ndarray, step: float = STEP) -> np.ndarray:
    """The polyline `stroke` (K, 2) with a point about every `step` along it, its corners kept."""
    along = np.concatenate([[0], np.cumsum(np.linalg.norm(np.diff(stroke, axis=0), axis=1))])
    if len(stroke) < 2 or along[-1] == 0:
        return stroke
    at = np.union1d(along, np.arange(0, along[-1], step))
    return np.stack([np.interp(at, along, stroke[:, 0]), np.interp(at, along, stroke[:, 1])], axis=1)


def handwritten(rng: np.random.Generator, strokes: Paths) -> Paths:
    """A glyph (strokes in the unit box) as a hand redraws it: the whole drawing bent by a slow wobble (two random
    waves across the box, up to WOBBLE), each stroke shifted a little (STROKE_SHIFT), each point trembling."""
    waves = [(rng.uniform(0.5, 1.5, 2) * rng.choice([-1, 1], 2), rng.uniform(0, 2 * np.pi), rng.uniform(0, WOBBLE))
             for _ in range(4)]
    out = []
    for stroke in strokes:
        points = _resampled(np.asarray(stroke, float))
        bend = np.zeros_like(points)
        for axis in (0, 1):
            for frequency, phase, amplitude in waves[2 * axis:2 * axis + 2]:
                bend[:, axis] += amplitude * np.sin(2 * np.pi * points @ frequency + phase)
        out.append(points + bend + rng.normal(0, STROKE_SHIFT, 2) + rng.normal(0, 0.004, points.shape))
    return out


def source_glyph(source: str) -> Callable[[np.random.Generator], Paths]:
    """A kind that draws a random glyph of `source` (pipeline/data/sources.py) by hand."""
    def make(rng) -> Paths:
        glyphs = sources.glyphs(source)
        return handwritten(rng, list(glyphs[rng.integers(len(glyphs))][1]))
    return make


def kind_strokes(kind: str, rng: np.random.Generator) -> Paths:
    """One drawing of a stroke kind (written here, or a source's name) in the unit box, before `shaped`."""
    return source_glyph(kind)(rng) if kind in sources.SOURCES else STROKE_KINDS[kind](rng)


def transformed(paths: Paths, slant: float, aspect: float, angle: float) -> Paths:
    """Shear by `slant` (x += slant·(0.5 − y)), scale x by `aspect`, turn by `angle` radians, about the box's centre."""
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    out = []
    for p in paths:
        q = np.asarray(p, float) - 0.5
        q = np.stack([(q[:, 0] - slant * q[:, 1]) * aspect, q[:, 1]], axis=1)
        out.append(q @ rotation.T + 0.5)
    return out


def shaped(rng: np.random.Generator, paths: Paths) -> Paths:
    """The drawing as one person draws it: slanted, squashed or stretched, turned a little."""
    return transformed(paths, rng.uniform(-0.25, 0.25), np.exp(rng.uniform(-0.3, 0.3)), rng.uniform(-0.25, 0.25))


def overlapping_digits(rng: np.random.Generator, digits: np.ndarray) -> np.ndarray:
    """Two MNIST digits (uint8 (N, 28, 28); leave out the 1s: two of them overlapping still read as a 1) drawn over
    each other, one shifted sideways by 4-12 px: (28, 28)."""
    a, b = digits[rng.integers(len(digits), size=2)]
    shift = int(rng.integers(4, 13))
    wide = np.zeros((IMAGE_SIZE, IMAGE_SIZE + shift), np.int64)
    wide[:, :IMAGE_SIZE] = a
    wide[:, shift:] = np.maximum(wide[:, shift:], b)
    return np.round(to_mnist(wide) * 255).astype(np.uint8)


def generate(count: int, seed: int, kinds: tuple[str, ...] = TRAINED, digits: np.ndarray | None = None,
             cache_dir: Path | None = None, log=print) -> np.ndarray:
    """`count` non-digit images, uint8 (count, 28, 28), the kinds taken in turn; `digits` (uint8 (N, 28, 28),
    no 1s) are needed for OVERLAP and only for it. cache_dir: a folder that keeps them between runs (training and
    export pass cache.folder(FOLDER)), keyed by the arguments, CODE and PACKAGES; None draws them every time."""
    if OVERLAP in kinds and digits is None:
        raise ValueError(f"{OVERLAP!r} needs MNIST digits to overlap")
    if cache_dir is None or count == 0:
        return _drawn(count, seed, kinds, digits)
    overlapped = [str(digits.shape), digits.tobytes()] if OVERLAP in kinds else []
    name = cache.key(CODE, PACKAGES, str(count), str(seed), "\n".join(kinds), *overlapped)
    return cache.kept(cache_dir / f"{name}.npz", count, lambda: _drawn(count, seed, kinds, digits), "non-digits'",
                      log)[0]


def _drawn(count: int, seed: int, kinds: tuple[str, ...], digits: np.ndarray | None) -> np.ndarray:
    rng = np.random.default_rng(seed)
    images = np.empty((count, IMAGE_SIZE, IMAGE_SIZE), np.uint8)
    for i in range(count):
        kind = kinds[i % len(kinds)]
        images[i] = (overlapping_digits(rng, digits) if kind == OVERLAP
                     else pen.digit(shaped(rng, kind_strokes(kind, rng))))
    return images


def labelled(count: int, seed: int, digits: np.ndarray, labels: np.ndarray, kinds: tuple[str, ...] = TRAINED,
             cache_dir: Path | None = None, log=print) -> tuple[np.ndarray, np.ndarray]:
    """`count` drawings of `kinds` (the TRAINED ones unless told) and their label, NOT_A_DIGIT: (uint8 (count, 28,
    28), uint8 (count,)). SOURCE_SHARE of them from the sources among `kinds`, each source as often, the rest from
    the kinds written here. The overlaps are made from `digits` (MNIST images with their `labels`) but their 1s.
    cache_dir: as generate's."""
    own = tuple(k for k in kinds if k not in sources.SOURCES)
    others = tuple(k for k in kinds if k in sources.SOURCES)
    from_sources = round(SOURCE_SHARE * count) if own and others else count if others else 0
    images = np.concatenate([generate(count - from_sources, seed, own, digits[labels != 1], cache_dir, log),
                             generate(from_sources, seed, others, cache_dir=cache_dir, log=log)])
    return images, np.full(count, NOT_A_DIGIT, np.uint8)


def strokes(kind: str, seed: int) -> Paths:
    """One drawing of a stroke kind in the unit box, for drawing on the page (the benchmark)."""
    rng = np.random.default_rng(seed)
    paths = shaped(rng, kind_strokes(kind, rng))
    points = np.concatenate(paths)
    lo, side = points.min(axis=0), max(float((points.max(axis=0) - points.min(axis=0)).max()), 1e-3)
    return [(p - lo) / side for p in paths]
