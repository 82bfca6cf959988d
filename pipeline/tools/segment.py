"""Digits in an image's ink: which marks make up which digit of a number written left to right.

The image twin of site_template/js/segment.js, which does the same from the page's strokes; here the
marks are the connected components (8-connected) of every pixel with ink > 0, in this order:

  1. specks, components whose longer side is under SPECK x the typical digit height, are noise (paper
     grain, JPEG ringing), dropped;
  2. components belong to one digit when their horizontal extents overlap by at least OVERLAP of the
     narrower one's width (the two strokes of a 4, the flag of a 5): merged until nothing changes;
  3. a fragment (a group whose longer side is under SMALL x the typical height) joins the nearest group
     if it is within NEAR x that height, and is dropped if not (a dot, a dash is no digit);
  4. a group shorter than PART x the typical height joins the nearer of its neighbours in reading order
     when the gap is at most PART_GAP x that height and together they are at most TALLEST x that height
     high and, unless their extents overlap, WIDEST x it wide (a 4 whose stem does not reach its bar, the
     long flag of a 5 that overlaps only the right of its body);
  5. the groups are read left to right by their horizontal centre.

The typical digit height is the median height of the marks at least TYPICAL x as tall as the tallest; for
rule 4, as on the page, of the groups rules 2 and 3 left (a 5 whose flag stands apart is then one tall group).
An image of one digit and nothing else is one group holding every ink pixel.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from pipeline.contract import SEGMENT_NEAR as NEAR, SEGMENT_OVERLAP as OVERLAP, SEGMENT_PART as PART
from pipeline.contract import SEGMENT_PART_GAP as PART_GAP, SEGMENT_SMALL as SMALL, SEGMENT_TALLEST as TALLEST
from pipeline.contract import SEGMENT_TYPICAL as TYPICAL, SEGMENT_WIDEST as WIDEST

# The rules' sizes are the page's too (pipeline/contract.py); these two are an image's alone:
SPECK = 0.1  # a component whose longer side is under SPECK x the typical digit height is noise
MAX_MARKS = 1000  # more marks than this (specks left out) is no number, and grouping them takes seconds (quadratic)
EIGHT_CONNECTED = np.ones((3, 3), bool)
BAND_PIXELS = 2**22  # pixels of the label image read at a time when measuring the marks: bounds the memory it takes


class TooManyMarks(ValueError):
    """The ink holds more than MAX_MARKS separate marks that are not specks."""


@dataclasses.dataclass
class Group:
    """Some components. labels: their numbers in the label image; box: left, top, right, bottom
    (pixels, right and bottom exclusive)."""

    labels: list[int]
    box: tuple[int, int, int, int]

    @property
    def width(self) -> int:
        return self.box[2] - self.box[0]

    @property
    def height(self) -> int:
        return self.box[3] - self.box[1]

    def join(self, other: Group) -> None:
        self.labels += other.labels
        (l1, t1, r1, b1), (l2, t2, r2, b2) = self.box, other.box
        self.box = (min(l1, l2), min(t1, t2), max(r1, r2), max(b1, b2))


@dataclasses.dataclass(frozen=True)
class Digit:
    """One digit found. ink: uint8 (height, width), the image's ink in `box` with every other digit's
    ink and the dropped noise set to 0; box: (x, y, width, height) in the image's pixels."""

    ink: np.ndarray
    box: tuple[int, int, int, int]


def find_digits(ink: np.ndarray) -> list[Digit]:
    """The digits in ink (uint8 (H, W), 0 = none), left to right; empty when there is no ink.
    TooManyMarks beyond MAX_MARKS marks (a texture, a halftone photo)."""
    from scipy import ndimage  # here: SciPy takes 0.4 s to import, and a file that is no image never needs it

    labels, count = ndimage.label(ink > 0, structure=EIGHT_CONNECTED)
    if count == 0:
        return []
    boxes = mark_boxes(labels, count)
    widths, heights = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    height = typical_height(heights)
    kept = np.flatnonzero(np.maximum(widths, heights) >= SPECK * height)
    if kept.size > MAX_MARKS:  # before a Group is made for any: a grid of millions of dots costs arrays, not objects
        raise TooManyMarks(f"{kept.size} separate marks; a number has at most {MAX_MARKS}")
    groups = [Group([int(n) + 1], tuple(int(v) for v in boxes[n])) for n in kept]
    groups = join_fragments(merge_overlapping(groups), height)
    groups.sort(key=lambda g: g.box[0] + g.box[2])
    groups = join_parts(groups, typical_height(np.array([g.height for g in groups])))  # as the page: of the groups
    return [_digit(ink, labels, count, g) for g in groups]


def mark_boxes(labels: np.ndarray, count: int) -> np.ndarray:
    """int64 (count, 4): the box (left, top, right, bottom; right and bottom exclusive) of each mark 1..count of
    the label image `labels` (int (H, W), 0 = no ink), measured a band of rows at a time (BAND_PIXELS)."""
    left, top = np.full(count + 1, np.iinfo(np.int64).max), np.full(count + 1, np.iinfo(np.int64).max)
    right, bottom = np.zeros(count + 1, np.int64), np.zeros(count + 1, np.int64)
    band = max(1, BAND_PIXELS // max(1, labels.shape[1]))
    for start in range(0, labels.shape[0], band):
        rows, cols = np.nonzero(labels[start : start + band])
        marks = labels[start : start + band][rows, cols]
        np.minimum.at(left, marks, cols)
        np.maximum.at(right, marks, cols + 1)
        np.minimum.at(top, marks, rows + start)
        np.maximum.at(bottom, marks, rows + start + 1)
    return np.stack([left, top, right, bottom], axis=1)[1:]


def _digit(ink: np.ndarray, labels: np.ndarray, count: int, group: Group) -> Digit:
    left, top, right, bottom = group.box
    window = (slice(top, bottom), slice(left, right))
    member = np.zeros(count + 1, bool)
    member[group.labels] = True
    mine = member[labels[window]]  # a look-up per pixel: linear in the window, whatever the count of marks
    return Digit(np.where(mine, ink[window], 0).astype(np.uint8), (left, top, group.width, group.height))


def typical_height(heights: np.ndarray) -> float:
    """The median of the mark heights `heights` at least TYPICAL x the tallest (never the specks)."""
    return float(np.median(heights[heights >= TYPICAL * heights.max()]))


def overlapping(a: Group, b: Group) -> bool:
    """Whether two groups overlap horizontally by at least OVERLAP of the narrower one's width."""
    overlap = min(a.box[2], b.box[2]) - max(a.box[0], b.box[0])
    return overlap > 0 and overlap >= OVERLAP * min(a.width, b.width)


def merge_overlapping(groups: list[Group]) -> list[Group]:
    """Rule 2: merge groups that overlap enough horizontally, until none do."""
    merged = True
    while merged:
        merged = False
        out: list[Group] = []
        for group in sorted(groups, key=lambda g: g.box[0]):
            previous = next((other for other in out if overlapping(other, group)), None)
            if previous is None:
                out.append(group)
            else:
                previous.join(group)
                merged = True
        groups = out
    return groups


def box_distance(a: Group, b: Group) -> float:
    """Euclidean distance between two groups' boxes (0 when they touch or overlap)."""
    dx = max(0, a.box[0] - b.box[2], b.box[0] - a.box[2])
    dy = max(0, a.box[1] - b.box[3], b.box[1] - a.box[3])
    return float(np.hypot(dx, dy))


def join_fragments(groups: list[Group], height: float) -> list[Group]:
    """Rule 3: a fragment joins the nearest other group when it is near; a fragment far from all is dropped."""
    is_fragment = [max(g.width, g.height) < SMALL * height for g in groups]
    out = [g for g, small in zip(groups, is_fragment) if not small]
    for fragment in (g for g, small in zip(groups, is_fragment) if small):
        nearest = min(out, key=lambda g: box_distance(g, fragment), default=None)
        if nearest is not None and box_distance(nearest, fragment) <= NEAR * height:
            nearest.join(fragment)
    return out


def join_parts(groups: list[Group], height: float) -> list[Group]:
    """Rule 4 (groups sorted left to right): a short group joins the nearer neighbour that makes one digit with it."""
    def gap(a: Group, b: Group) -> int:
        return max(a.box[0], b.box[0]) - min(a.box[2], b.box[2])

    def fits(a: Group, b: Group) -> bool:
        both = Group([], a.box)
        both.join(b)
        wide_enough = gap(a, b) < 0 or both.width <= WIDEST * height  # a part that overlaps a digit is of it
        return gap(a, b) <= PART_GAP * height and both.height <= TALLEST * height and wide_enough

    while True:
        index = next((i for i, g in enumerate(groups) if g.height < PART * height
                      and any(0 <= j < len(groups) and fits(g, groups[j]) for j in (i - 1, i + 1))), None)
        if index is None:
            return groups
        part = groups.pop(index)
        neighbours = [groups[j] for j in (index - 1, index) if 0 <= j < len(groups) and fits(part, groups[j])]
        min(neighbours, key=lambda g: gap(part, g)).join(part)
