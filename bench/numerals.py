"""Eastern Arabic-Indic numerals (٢ ٣ ٤ ٧ ٨) as pen strokes, written by imagined visitors of different styles.

No MNIST model reads these: they are the hands the page must learn from a
visitor's corrections (`make bench-personal`). A writer is a named `Style`: the
shape they give each numeral (VARIANTS: a hooked or a looped ٢, two teeth or
three on ٣, a round, angular or looped ٤, straight, bowed or hooked arms on ٧
and ٨), their slant and proportions, whether they lift the pen at a corner
(stroke count) and which way they draw (stroke order and direction), serifs at
the ends, how large and where on the pad they write, how fast their pen moves
(the distance between the points the pad receives) and how much one writing
differs from the next. `Hand(style, seed)` is one such writer: the seed fixes
their own small habits (each control point moved a little, once) and the
random stream of their writings. The styles are set down as people write,
before any recipe is tried on them: TUNING names the writers the page's
adaptation recipe may be chosen on, HELD_OUT those it is only reported on.
A held-out writer, once a recipe has been measured on them, is spent: it joins
the tuning writers, and new held-out writers are written down before the next
search.

Each numeral is a few control points in a unit box (x right, y down), smoothed
into a curve (Catmull-Rom). ٥ (a ring, like a Latin 0) and ٦ (close to a Latin
7) are left out: teaching them would trade the Latin digits away.

Only numpy; the strokes are `handwriting.Strokes`, so `Hand.place` puts them on
a pad and `pipeline.data.pen` draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bench.placement import Placement, place_at
from pipeline.data.handwriting import POINTS_PER_SIDE, Strokes, resample
from pipeline.data.nondigits import catmull_rom, transformed

Controls = tuple[tuple[float, float], ...]  # a stroke's control points in the unit box


def _flipped(points: Controls) -> Controls:
    return tuple((x, 1.0 - y) for x, y in points)


# label -> variant name -> (control points of the one stroke, the index where a writer who lifts the pen does so)
_SEVEN = {
    "straight": (((0.12, 0.00), (0.34, 0.50), (0.50, 1.00), (0.66, 0.50), (0.88, 0.00)), 2),
    "bowed": (((0.08, 0.00), (0.40, 0.42), (0.50, 1.00), (0.60, 0.42), (0.92, 0.00)), 2),  # arms curved in, a tulip
    "hooked": (((0.26, 0.08), (0.12, 0.00), (0.18, 0.26), (0.50, 1.00), (0.72, 0.45), (0.90, 0.00)), 3),  # a curl on top
}
VARIANTS: dict[int, dict[str, tuple[Controls, int]]] = {
    2: {
        "hook": (((0.80, 0.02), (0.66, 0.20), (0.50, 0.18), (0.38, 0.02), (0.40, 0.40), (0.44, 1.00)), 3),
        "looped": (((0.38, 0.10), (0.60, 0.00), (0.80, 0.06), (0.72, 0.24), (0.52, 0.26), (0.42, 0.18), (0.42, 0.55),
                    (0.45, 1.00)), 5),  # the hook closed into a loop on the stem
        "swash": (((0.82, 0.04), (0.68, 0.22), (0.50, 0.16), (0.40, 0.00), (0.30, 0.45), (0.34, 0.80), (0.52, 1.00)), 3),
    },
    3: {
        "teeth": (((0.90, 0.00), (0.80, 0.18), (0.68, 0.04), (0.56, 0.18), (0.40, 0.02), (0.42, 0.40), (0.46, 1.00)), 4),
        "three teeth": (((0.95, 0.02), (0.85, 0.15), (0.75, 0.02), (0.65, 0.15), (0.55, 0.02), (0.45, 0.15), (0.36, 0.02),
                         (0.38, 0.50), (0.42, 1.00)), 6),
    },
    4: {
        "round": (((0.78, 0.06), (0.48, 0.00), (0.30, 0.16), (0.44, 0.38), (0.60, 0.44), (0.32, 0.58), (0.28, 0.84),
                   (0.50, 1.00), (0.82, 0.94)), 4),  # like an ε
        "angular": (((0.82, 0.04), (0.30, 0.04), (0.62, 0.46), (0.26, 0.52), (0.58, 0.98), (0.86, 0.94)), 3),
        "looped": (((0.78, 0.06), (0.48, 0.00), (0.30, 0.16), (0.40, 0.34), (0.72, 0.28), (0.78, 0.50), (0.52, 0.58),
                    (0.34, 0.40), (0.28, 0.64), (0.30, 0.86), (0.52, 1.00), (0.82, 0.94)), 6),  # a closed loop at the waist
    },
    7: _SEVEN,
    8: {name: (_flipped(points), corner) for name, (points, corner) in _SEVEN.items()},  # ٨ is ٧ upside down
}
LABELS = tuple(VARIANTS)
PEN_WIDTH = 0.12  # ink width / the numeral's longer side (MNIST's 2-3 px of 20)


@dataclass(frozen=True)
class Style:
    """How one writer writes: each field a habit real hands differ in."""

    name: str
    shapes: dict[int, str]  # label -> its name in VARIANTS[label]
    slant: float  # shear, x += slant·(0.5 − y): > 0 leans right, < 0 a backhand
    aspect: float  # width scale of the templates: < 1 narrow, > 1 wide
    lifts: tuple[int, ...] = ()  # labels written in two strokes, the pen lifted at the variant's corner
    backwards: bool = False  # each stroke drawn from its other end, the strokes in the other order
    serif: float = 0.0  # length of a barb at the start and a tail at the end, fraction of the box (0: none)
    size: tuple[float, float] = (0.4, 0.8)  # the numeral's height on the pad, fraction of its side, uniform
    position: tuple[float, float] = (0.5, 0.5)  # where on the pad, (0, 0) top left to (1, 1) bottom right, on average
    spread: float = 0.25  # how far the position wanders from one numeral to the next (same units)
    step: float = 1 / 40  # pen speed: the distance between the points the pad receives, fraction of its height
    wobble: float = 0.035  # control-point noise of one writing, fraction of the box (care: small is neat)
    sway: float = 0.06  # slant noise of one writing
    habits: float = 0.03  # the writer's own, fixed moves of each control point (from the seed)


STYLES = (
    Style("neat upright", {2: "hook", 3: "teeth", 4: "round", 7: "straight", 8: "straight"},
          slant=0.0, aspect=0.8, size=(0.5, 0.8), step=1 / 60, wobble=0.025, sway=0.04),
    Style("quick slanted", {2: "looped", 3: "three teeth", 4: "round", 7: "straight", 8: "straight"},
          slant=0.4, aspect=0.65, lifts=(7, 8), size=(0.35, 0.6), step=1 / 25, wobble=0.045, sway=0.08),
    Style("small backhand in the corner", {2: "swash", 3: "teeth", 4: "angular", 7: "bowed", 8: "bowed"},
          slant=-0.3, aspect=1.15, backwards=True, size=(0.22, 0.35), position=(0.15, 0.15), spread=0.1, step=1 / 80),
    Style("two strokes with serifs", {2: "hook", 3: "three teeth", 4: "looped", 7: "hooked", 8: "straight"},
          slant=0.12, aspect=0.75, lifts=(2, 3, 7, 8), serif=0.14, size=(0.5, 0.75), step=1 / 40),
    Style("tall narrow looped", {2: "looped", 3: "teeth", 4: "looped", 7: "straight", 8: "bowed"},
          slant=0.2, aspect=0.5, size=(0.75, 0.92), step=1 / 50, wobble=0.03),
    Style("hurried low on the pad", {2: "hook", 3: "three teeth", 4: "angular", 7: "straight", 8: "hooked"},
          slant=0.25, aspect=0.9, backwards=True, size=(0.3, 0.5), position=(0.8, 0.85), spread=0.15, step=1 / 18,
          wobble=0.055, sway=0.1),
    Style("round with flourishes", {2: "swash", 3: "teeth", 4: "round", 7: "bowed", 8: "hooked"},
          slant=-0.1, aspect=1.0, serif=0.2, size=(0.45, 0.7), step=1 / 35),
)
# Written down after the first seven had been measured through the page, and before any recipe was tried on
# them: the first seven are spent (a recipe was chosen, then measured on five of them), these five are the measure.
STYLES += (
    Style("left-handed pulled strokes", {2: "hook", 3: "teeth", 4: "angular", 7: "hooked", 8: "bowed"},
          slant=-0.15, aspect=0.7, lifts=(3,), backwards=True, size=(0.4, 0.6), position=(0.8, 0.2), step=1 / 30,
          wobble=0.04),
    Style("big and round", {2: "swash", 3: "three teeth", 4: "round", 7: "bowed", 8: "straight"},
          slant=0.05, aspect=1.1, serif=0.1, size=(0.8, 0.95), step=1 / 45),
    Style("tiny and quick", {2: "hook", 3: "teeth", 4: "looped", 7: "straight", 8: "hooked"},
          slant=0.3, aspect=0.8, lifts=(7, 8), size=(0.18, 0.28), position=(0.5, 0.3), spread=0.2, step=1 / 22,
          wobble=0.045),
    Style("careful backhand", {2: "looped", 3: "three teeth", 4: "round", 7: "hooked", 8: "straight"},
          slant=-0.35, aspect=0.6, serif=0.08, step=1 / 70, wobble=0.02, sway=0.03),
    Style("shaky", {2: "hook", 3: "teeth", 4: "angular", 7: "straight", 8: "bowed"},
          slant=0.1, aspect=0.85, lifts=(2,), step=1 / 40, wobble=0.06, sway=0.09, habits=0.045),
)
STYLE = {style.name: style for style in STYLES}
HELD_OUT = ("left-handed pulled strokes", "big and round", "tiny and quick", "careful backhand", "shaky")  # the measure
TUNING = tuple(style.name for style in STYLES if style.name not in HELD_OUT)  # the writers the recipe is chosen on


def _to_unit(paths: list[np.ndarray]) -> Strokes:
    """Scale into the unit box (longer side 0-1, the shorter centred) and resample evenly."""
    points = np.concatenate(paths)
    lo, hi = points.min(axis=0), points.max(axis=0)
    side = float((hi - lo).max()) or 1.0
    offset = (side - (hi - lo)) / 2
    unit = tuple(resample((p - lo + offset) / side, 1 / POINTS_PER_SIDE) for p in paths)
    return Strokes(paths=unit, width=PEN_WIDTH, frame=(0.0, 0.0, 1.0))


def _turned(direction: np.ndarray, degrees: float) -> np.ndarray:
    a = np.radians(degrees)
    unit = direction / (np.linalg.norm(direction) or 1.0)
    return np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]]) @ unit


def _with_serifs(strokes: list[np.ndarray], length: float) -> list[np.ndarray]:
    """A barb into the first stroke's start and a tail out of the last stroke's end, `length` long."""
    first, last = strokes[0], strokes[-1]
    barb = first[0] + length * _turned(first[0] - first[1], 40)
    tail = last[-1] + length * _turned(last[-1] - last[-2], -80)
    strokes = [np.concatenate([barb[None], first]), *strokes[1:]]
    strokes[-1] = np.concatenate([strokes[-1], tail[None]])
    return strokes


class Hand:
    """One writer of ٢ ٣ ٤ ٧ ٨: `style`'s habits, their own small ones fixed by `seed`, a new variant at each `write`."""

    def __init__(self, style: Style | str, seed: int) -> None:
        self.style = STYLE[style] if isinstance(style, str) else style
        rng = np.random.default_rng(seed)
        self.controls = {label: np.asarray(VARIANTS[label][name][0], float) + rng.normal(0, self.style.habits,
                                                                                         (len(VARIANTS[label][name][0]), 2))
                         for label, name in self.style.shapes.items()}
        self.rng = rng

    def strokes_of(self, label: int, controls: np.ndarray) -> list[np.ndarray]:
        """The control points of each stroke, in the order and direction this writer draws them."""
        style = self.style
        corner = VARIANTS[label][style.shapes[label]][1]
        if label in style.lifts:  # two strokes meeting at the corner, each begun at its upper end
            strokes = [part if part[0, 1] <= part[-1, 1] else part[::-1] for part in (controls[: corner + 1], controls[corner:])]
        else:
            strokes = [controls]
        if style.backwards:
            strokes = [s[::-1] for s in strokes[::-1]]
        return _with_serifs(strokes, style.serif) if style.serif else strokes

    def write(self, label: int) -> Strokes:
        """The numeral `label` (2, 3, 4, 7 or 8) as this hand writes it once more."""
        rng, style = self.rng, self.style
        controls = self.controls[label] + rng.normal(0, style.wobble, self.controls[label].shape)
        paths = [catmull_rom(c, samples=12) for c in self.strokes_of(label, controls)]
        paths = transformed(paths, style.slant + rng.normal(0, style.sway), style.aspect * rng.uniform(0.9, 1.1),
                            rng.normal(0, 0.08))
        return _to_unit(paths)

    def place(self, strokes: Strokes, side: float, margin: float) -> Placement:
        """Where this writer puts `strokes` on a pad `side` pixels square: their size and their place on it."""
        fraction = float(self.rng.uniform(*self.style.size))
        position = np.clip(np.asarray(self.style.position) + self.rng.normal(0, self.style.spread, 2), 0, 1)
        return place_at(strokes, side, fraction, tuple(position), margin)

    def pen_points(self, path: np.ndarray, side: float) -> np.ndarray:
        """A stroke (pad pixels) as the pad receives it from this writer's pen: a point every `step` of `side`."""
        return resample(path, side * self.style.step)
