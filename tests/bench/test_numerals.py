"""bench/numerals.py: imagined writers of ٢ ٣ ٤ ٧ ٨ as pen strokes, no browser. Their styles differ as
people's do, measured on what they write: slant, proportions, the model's view of each numeral, loops,
stroke count and direction, size and place on the pad, pen speed."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import ndimage

from bench.numerals import HELD_OUT, LABELS, STYLE, STYLES, TUNING, Hand
from pipeline.data import handwriting as hw
from pipeline.data import pen

WRITINGS = 12  # of each numeral per writer, for the measures
PAD = 400.0  # pad side, pixels


def writings(name: str, seed: int = 0) -> dict[int, list[hw.Strokes]]:
    hand = Hand(name, seed)
    return {label: [hand.write(label) for _ in range(WRITINGS)] for label in LABELS}


@pytest.fixture(scope="module")
def written() -> dict[str, dict[int, list[hw.Strokes]]]:
    return {style.name: writings(style.name) for style in STYLES}


def slant(strokes: hw.Strokes) -> float:
    """How far x moves right per unit up, least squares over the points (a right lean is > 0)."""
    x, y = np.concatenate(strokes.paths).T
    return float(-np.cov(x, y)[0, 1] / np.var(y, ddof=1))


def aspect(strokes: hw.Strokes) -> float:
    points = np.concatenate(strokes.paths)
    width, height = points.max(axis=0) - points.min(axis=0)
    return float(width / height)


def view(strokes: hw.Strokes) -> np.ndarray:
    """The numeral as the model reads it (the page's pen and preprocessing): bool (28, 28), ink > 1/4."""
    return pen.digit(list(strokes.paths)) > 64


def overlap(a: np.ndarray, b: np.ndarray) -> float:
    return float((a & b).sum() / (a | b).sum())


def holes(strokes: hw.Strokes) -> int:
    """Closed loops: background regions the ink encloses, drawn large with the page's pen."""
    ink = pen.ink([p * 80 + 10 for p in strokes.paths], 100, 0.12 * 80, stamped=True) > 0
    regions, count = ndimage.label(~ink)
    return count - 1  # the region around the numeral is not a loop


def test_the_writers_are_split_into_tuning_and_held_out_and_there_are_at_least_five_held_out():
    assert set(TUNING) | set(HELD_OUT) == set(STYLE) and not set(TUNING) & set(HELD_OUT)
    assert len(TUNING) >= 2 and len(HELD_OUT) >= 5
    assert len({style.name for style in STYLES}) == len(STYLES)


def test_a_hand_writes_each_numeral_in_the_unit_box_and_the_same_seed_writes_the_same():
    for style in STYLES:
        one, same, other = Hand(style, 3), Hand(style.name, 3), Hand(style, 4)
        for label in LABELS:
            strokes = one.write(label)
            points = np.concatenate(strokes.paths)
            assert points.min() >= -1e-9 and points.max() <= 1 + 1e-9
            assert (points.max(axis=0) - points.min(axis=0)).max() > 0.97, "the longer side spans the box (resampled)"
            assert all(np.array_equal(a, b) for a, b in zip(strokes.paths, same.write(label).paths))
            assert not np.allclose(np.concatenate(other.write(label).paths)[:10], points[:10])


def test_each_writer_writes_five_different_numerals_and_each_varies_a_little(written):
    for name, hand in written.items():
        images = {label: [view(s) for s in hand[label][:5]] for label in LABELS}
        same = np.mean([overlap(images[label][0], images[label][i]) for label in LABELS for i in range(1, 5)])
        different = np.mean([overlap(images[a][0], images[b][0]) for a in LABELS for b in LABELS if a < b])
        assert same > different + 0.15, (name, same, different)
        assert same < 0.95, f"{name}: each writing varies"


def test_slant_and_proportions_differ_between_writers_by_a_wide_margin(written):
    slants = {name: np.mean([slant(s) for label in LABELS for s in hand[label]]) for name, hand in written.items()}
    aspects = {name: np.median([aspect(s) for label in LABELS for s in hand[label]]) for name, hand in written.items()}
    assert slants["quick slanted"] - slants["small backhand in the corner"] > 0.5, slants
    assert slants["small backhand in the corner"] < -0.15 < 0.25 < slants["quick slanted"], slants
    assert aspects["small backhand in the corner"] > 1.6 * aspects["tall narrow looped"], aspects
    assert len({round(a, 1) for a in aspects.values()}) >= 4, f"four or more distinct proportions: {aspects}"


def test_every_two_writers_write_the_same_numeral_differently(written):
    """What the model sees: of two writers, at least one writes each numeral more like their own other
    writings than like the other writer's (a shaky writer's writings are not alike even among themselves)."""
    views = {name: {label: [view(s) for s in hand[label]] for label in LABELS} for name, hand in written.items()}
    within = {name: np.mean([overlap(v[label][i], v[label][i + 1]) for label in LABELS for i in range(0, WRITINGS, 2)])
              for name, v in views.items()}
    for a, b in itertools.combinations(views, 2):
        between = np.mean([overlap(views[a][label][i], views[b][label][i]) for label in LABELS for i in range(WRITINGS)])
        assert between < max(within[a], within[b]) - 0.05, (a, b, between, within[a], within[b])


def test_loops_are_closed_by_some_writers_and_open_for_others(written):
    looped = lambda name, label: np.mean([holes(s) >= 1 for s in written[name][label]])  # noqa: E731
    assert looped("tall narrow looped", 2) >= 0.75 and looped("quick slanted", 2) >= 0.75
    assert looped("neat upright", 2) <= 0.1 and looped("small backhand in the corner", 2) <= 0.1
    assert looped("two strokes with serifs", 4) >= 0.75 and looped("neat upright", 4) <= 0.1


def test_stroke_count_and_direction_differ(written):
    strokes = {name: {label: len(hand[label][0].paths) for label in LABELS} for name, hand in written.items()}
    assert strokes["two strokes with serifs"] == {2: 2, 3: 2, 4: 1, 7: 2, 8: 2}
    assert strokes["neat upright"] == dict.fromkeys(LABELS, 1)
    assert strokes["quick slanted"][7] == strokes["quick slanted"][8] == 2
    starts_low = lambda name: np.mean([s.paths[0][0, 1] > s.paths[-1][-1, 1] for s in written[name][2]])  # noqa: E731
    assert starts_low("small backhand in the corner") == 1.0, "written upwards, from the stem's foot"
    assert starts_low("neat upright") == 0.0


def test_serifs_add_a_barb_and_a_tail_and_lifting_the_pen_repeats_the_corner():
    for name in STYLE:
        hand = Hand(name, 0)
        for label in LABELS:
            strokes = hand.strokes_of(label, hand.controls[label])
            added = 2 * (hand.style.serif > 0) + (label in hand.style.lifts)
            assert sum(map(len, strokes)) == len(hand.controls[label]) + added, (name, label)
    assert sum(style.serif > 0 for style in STYLES) >= 2 and sum(style.serif == 0 for style in STYLES) >= 2


def test_size_place_and_pen_speed_on_the_pad_differ():
    placed = {}
    for style in STYLES:
        hand = Hand(style, 0)
        spots = [hand.place(hand.write(label), PAD, PAD / 64) for label in LABELS for _ in range(8)]
        centres = np.array([np.concatenate(p.paths).mean(axis=0) / PAD for p in spots])
        points = np.mean([sum(len(hand.pen_points(path, PAD)) for path in p.paths) / p.size for p in spots])
        placed[style.name] = (np.mean([p.fraction for p in spots]), centres.mean(axis=0), points)
    small, tall = placed["small backhand in the corner"], placed["tall narrow looped"]
    assert tall[0] - small[0] > 0.45, "sizes on the pad"
    assert np.all(small[1] < 0.3) and np.all(placed["hurried low on the pad"][1] > 0.65), "places on the pad"
    density = sorted(points for _, _, points in placed.values())
    assert density[-1] > 3 * density[0], f"points the pad receives per numeral-size of ink: {density}"
