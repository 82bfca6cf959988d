"""Drawings that are not digits, from collections made by others: the breadth of the 11th class.

Each source is a public, pinned collection of pen strokes, read from where `make setup`
installs it, every glyph as strokes in a unit box (x right, y down):
  Hershey-Fonts 2.1.0 (PyPI, MIT; requirements.lock): A. V. Hershey's stroke fonts, real
      pen paths: Latin print, gothic, italic and script hands, Greek, Cyrillic, Japanese
      kana and kanji, astrological, meteorological, musical, mathematical signs and markers
  feather-icons 4.29.2 (npm, MIT; package-lock.json): 287 stroke icons (arrows, shapes,
      objects), SVG read with svgelements 1.9.6 (PyPI, MIT)

Sources are grouped into families of kinds. `HELD_OUT` names sources training never sees,
a whole family among them, so that `make bench-nondigits` measures doubt on *sources*,
not on new samples of what was trained (leave-one-source-out).

What is written like a digit is left out, by a rule decided per source before any model
saw it: a list of look-alikes per source (`LOOKALIKES`, by character or icon name: O, l,
I, S, Z, b, q, З, б, の, ロ, a circle, ...) and, for every source, `digit_like`: a glyph
that is tiny beside its font (a dot, a comma), straight (a 1), a single open arc (a
bracket, a 1), or one round closed ring (a 0).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from pathlib import Path

import numpy as np

from pipeline.data import DataError

Paths = list[np.ndarray]  # strokes, each (K, 2) x, y
REPO = Path(__file__).resolve().parents[2]
FEATHER_ICONS = REPO / "node_modules" / "feather-icons" / "dist" / "icons"  # where `npm ci` puts the icons

LATIN = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SYMBOL_SLOTS = "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"  # the non-alphanumeric slots of a Hershey font (its symbols)

# What is written like a digit, per source: the characters (a Hershey font's ASCII slots) or icon names left out.
LOOKALIKES = {
    # Latin: O o Q D (0), I l i j J (1), Z z (2), S s (5), b G (6), B (8), g q (9)
    "hershey-roman": set("BDGIJOQSZbgijloqsz"),
    "hershey-gothic": set("BDGIJOQSZbgijloqsz"),
    "hershey-script": set("BDGIJOQSZbgijloqsz"),
    # Greek, by the Latin slot it sits in: Β, Ι, ·, Ο, Θ, °, Ζ, β, δ, ι, ο, ϑ, ρ, σ, ξ, ζ
    "hershey-greek": set("BIJOQVZbdioqrsxz"),
    # Cyrillic, by slot: Б, В, Э, Ч, О, З and the same in lower case, Ъ Ь ъ ь (b, 6), \ (a line)
    "hershey-cyrillic": set("BCJOVZbcjovz]_{}\\"),
    # Japanese, by slot (chr(32 + index) in the font): 一 一 五 七, い く し の ら り る ろ じ, ア ク ノ フ ヨ ラ リ レ ロ ワ
    "hershey-japanese": {chr(32 + i) for i in (2, 18, 22, 24, 34, 40, 44, 57, 73, 74, 75, 77, 94,
                                               113, 120, 137, 140, 152, 153, 154, 156, 157, 158)},
    # signs: ☉ (0), ♃ (4), ♋ (69), the markers' circle and dot, ◓ and ellipses (0), hooks (9), arcs and
    # brackets (1), ? (2, 7), S-like (5), ~6 (6), Z-like (2), ∫ (1, S)
    "hershey-symbols": {"astrology #", "astrology *", "astrology ^", "astrology (", "astrology )",
                        "markers A", "markers J", "markers a", "markers j",
                        "mathlow (", "mathlow )", "mathlow [", "mathlow ]", "mathlow {", "mathlow }", "mathlow |",
                        "mathlow ,", "mathupp (", "mathupp )", "mathupp [", "mathupp ]", "mathupp {", "mathupp }",
                        "mathupp |", "mathupp ,", "mathupp ^",
                        *(f"meteorology {c}" for c in "&()+,:<=>?[]^~"),
                        *(f"music {c}" for c in "\"#$%&[]"),
                        "symbolic B", "symbolic P", "symbolic v", "symbolic ~", "symbolic <"},
    # icons that are a circle, a line, a digit or a letter left out above
    "feather-icons": {"circle", "minus", "slash", "disc", "dollar-sign", "more-horizontal", "more-vertical",
                      "chevron-right", "chevrons-right", "divide-circle", "italic", "type", "bold", "loader",
                      "droplet", "toggle-left", "toggle-right", "git-commit", "zap", "zap-off", "pause", "smartphone",
                      "tablet", "thermometer", "rotate-ccw", "rotate-cw"},
}


@dataclasses.dataclass(frozen=True)
class Source:
    """One collection made by others."""

    name: str
    family: str  # the family of kinds: leave-one-family-out holds out all of its sources
    origin: str  # the package, version and licence
    read: Callable[[], dict[str, Paths]]  # every glyph, before the look-alikes are left out: {name: strokes}


def _hershey(fonts: dict[str, str]) -> Callable[[], dict[str, Paths]]:
    """A reader of the Hershey fonts named, each with the characters (slots) to take: {"font char": strokes}."""
    def read() -> dict[str, Paths]:
        try:
            from HersheyFonts import HersheyFonts
        except ImportError:
            raise DataError("the Hershey-Fonts package is missing: run `make setup` (requirements.lock installs it)")
        fonts_reader, glyphs = HersheyFonts(), {}
        for font, slots in fonts.items():
            fonts_reader.load_default_font(font)
            for char, glyph in fonts_reader.all_glyphs.items():
                strokes = [np.asarray(s, float) for s in glyph.strokes if len(s)]
                if char in slots and strokes:
                    glyphs[f"{font} {char}"] = strokes
        return glyphs
    return read


def _svg_strokes(path: Path) -> Paths:
    """The strokes of one stroke-drawn SVG icon (lines, polylines, polygons, circles, rects, paths), in its
    own units: each shape's sub-paths sampled about every 0.25 unit."""
    from svgelements import SVG, Path as SvgPath, Shape

    strokes = []
    for element in SVG.parse(str(path)).elements():
        if not isinstance(element, Shape):
            continue
        for sub in SvgPath(element).as_subpaths():
            sub = SvgPath(sub)
            length = sub.length()
            if length:
                strokes.append(np.asarray(sub.npoint(np.linspace(0, 1, max(2, int(length * 2))))))
    return strokes


def _feather() -> dict[str, Paths]:
    if not FEATHER_ICONS.is_dir():
        raise DataError(f"feather-icons is missing at {FEATHER_ICONS}: run `make setup` (package-lock.json installs it)")
    try:
        import svgelements  # noqa: F401
    except ImportError:
        raise DataError("the svgelements package is missing: run `make setup` (requirements.lock installs it)")
    return {path.stem: strokes for path in sorted(FEATHER_ICONS.glob("*.svg")) if (strokes := _svg_strokes(path))}


SOURCES = {s.name: s for s in (
    Source("hershey-roman", "Latin print", "Hershey-Fonts 2.1.0, MIT",
           _hershey({f: LATIN for f in ("futural", "futuram", "rowmans", "rowmand", "rowmant", "timesr", "timesrb")})),
    Source("hershey-gothic", "Latin print", "Hershey-Fonts 2.1.0, MIT",
           _hershey({f: LATIN for f in ("gothiceng", "gothicger", "gothicita", "gothgbt", "gothgrt", "gothitt")})),
    Source("hershey-script", "Latin cursive", "Hershey-Fonts 2.1.0, MIT",
           _hershey({f: LATIN for f in ("cursive", "scripts", "scriptc", "timesi", "timesib")})),
    Source("hershey-greek", "other scripts", "Hershey-Fonts 2.1.0, MIT",
           _hershey({f: LATIN for f in ("greek", "greekc", "greeks", "timesg")})),
    Source("hershey-cyrillic", "other scripts", "Hershey-Fonts 2.1.0, MIT",
           _hershey({f: LATIN + "[]^_`{|}\\" for f in ("cyrillic", "cyrilc_1")})),
    Source("hershey-japanese", "other scripts", "Hershey-Fonts 2.1.0, MIT",
           _hershey({"japanese": "".join(chr(c) for c in range(32, 32 + 193))})),
    Source("hershey-symbols", "symbols", "Hershey-Fonts 2.1.0, MIT",
           _hershey({"astrology": SYMBOL_SLOTS, "markers": LATIN, "meteorology": SYMBOL_SLOTS,
                     "music": SYMBOL_SLOTS, "symbolic": SYMBOL_SLOTS + LATIN, "mathlow": SYMBOL_SLOTS,
                     "mathupp": SYMBOL_SLOTS})),
    Source("feather-icons", "icons", "feather-icons 4.29.2 (npm), MIT; read with svgelements 1.9.6, MIT", _feather),
)}
# Never trained on: the whole symbols family, and Cyrillic, one source of a family that is trained (other scripts).
HELD_OUT = ("hershey-cyrillic", "hershey-symbols")
TRAINED = tuple(name for name in SOURCES if name not in HELD_OUT)


def _lookalike_key(source: str, glyph: str) -> str:
    """The key LOOKALIKES lists a glyph under: a Hershey slot character for letters and scripts, else its name."""
    return glyph.split(" ", 1)[1] if source.startswith("hershey-") and source != "hershey-symbols" else glyph


def _font(source: str, glyph: str) -> str:
    """The font a glyph belongs to (a Hershey glyph is named "font char"); an icon set is one font."""
    return glyph.split(" ", 1)[0] if source.startswith("hershey-") else source


def digit_like(strokes: Paths, reference: float) -> bool:
    """Whether a glyph (strokes in its font's units) is written like a digit by its shape alone: tiny beside
    `reference` (its font's median glyph size: a dot, a comma), straight (a 1), one open arc (a bracket), or one
    round closed ring (a 0)."""
    points = np.concatenate(strokes)
    size = float((points.max(0) - points.min(0)).max())
    if size < 0.3 * reference:
        return True
    spread = np.sqrt(np.maximum(np.linalg.eigvalsh(np.cov(points.T)), 0))  # minor, major standard deviation
    if spread[0] < 0.12 * spread[1]:
        return True
    if len(strokes) == 1:
        stroke = strokes[0]
        closed = np.linalg.norm(stroke[0] - stroke[-1]) < 0.1 * size
        if not closed and spread[0] < 0.3 * spread[1]:
            return True
        radii = np.linalg.norm(stroke - stroke.mean(0), axis=1)
        if closed and radii.std() < 0.12 * radii.mean():
            return True
    return False


def to_unit_box(strokes: Paths) -> Paths:
    """Strokes scaled so that the longer side is 1 and centred in the unit box."""
    points = np.concatenate(strokes)
    lo, hi = points.min(0), points.max(0)
    side = max(float((hi - lo).max()), 1e-6)
    offset = (1 - (hi - lo) / side) / 2
    return [(s - lo) / side + offset for s in strokes]


@functools.cache
def glyphs(source: str) -> tuple[tuple[str, tuple[np.ndarray, ...]], ...]:
    """The glyphs of `source` kept for drawing, look-alikes left out: ((name, strokes in the unit box), ...),
    sorted by name. Raises DataError (one line) when its package is not installed."""
    if source not in SOURCES:
        raise DataError(f"unknown non-digit source {source!r}; known: {', '.join(SOURCES)}")
    read = SOURCES[source].read()
    sizes = {}
    for name, strokes in read.items():
        points = np.concatenate(strokes)
        sizes.setdefault(_font(source, name), []).append(float((points.max(0) - points.min(0)).max()))
    reference = {group: float(np.median(values)) for group, values in sizes.items()}
    kept = []
    for name, strokes in sorted(read.items()):
        if _lookalike_key(source, name) in LOOKALIKES[source] or name in LOOKALIKES[source]:
            continue
        if digit_like(strokes, reference[_font(source, name)]):
            continue
        kept.append((name, tuple(to_unit_box(strokes))))
    return tuple(kept)
