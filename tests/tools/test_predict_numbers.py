"""`pipeline predict` on images of whole numbers: the segmentation (pipeline/tools/segment.py) on
synthetic ink, and numbers of 2-4 MNIST test digits traced into strokes, written with natural sizes
and gaps, drawn with a pen into PNG and JPEG files of both polarities, read by the session model."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from bench import placement
from pipeline import calibration
from pipeline.data import handwriting, pen
from pipeline.tools.predict import image_to_digits, image_to_mnist, predict_files, to_json, to_text
from pipeline.tools import segment
from pipeline.tools.segment import find_digits
from tests.helpers import SUPERSAMPLE, one_line_failure, pipeline_cli, save

N_NUMBERS = int(os.environ.get("PREDICT_NUMBERS", 40))  # 40 keep this test to seconds; BENCHMARKS.md's
# figure is PREDICT_NUMBERS=200
# Share of numbers read exactly, every digit right, by the run's 2-epoch model: two trainings of it read 34 and 38
# of these 40 (a traced digit whose loop the tracer lost is now read as not a digit); the 95 % floor is the
# shipped model's, measured on 200 (BENCHMARKS.md).
MIN_EXACT = 0.8
SHAPES = ((360, 120), (720, 240), (1200, 400))  # image width, height (pixels)
STYLES = (("dark-on-light", ".png"), ("light-on-dark", ".jpg"), ("dark-on-light", ".jpg"), ("light-on-dark", ".png"))
SEED = 2026
PEN = 0.1  # pen width / the digits' size: MNIST strokes are 2-3 px of its 20 px box


def boxes(ink):
    return [d.box for d in find_digits(ink)]


def one_ring(ink, left, top, size, pen=4, width=None):
    """A '0': the outline of a box `width` (default: size) wide and `size` high at (left, top)."""
    width = width or size
    ink[top : top + size, left : left + width] = 255
    ink[top + pen : top + size - pen, left + pen : left + width - pen] = 0


# ---------------------------------------------------------------- segmentation on synthetic ink


def test_a_one_beside_a_zero_is_two_digits_left_to_right():
    ink = np.zeros((80, 120), np.uint8)
    one_ring(ink, 50, 20, 40)
    ink[20:60, 20:25] = 255  # the 1, 25 px to the left of the 0
    assert boxes(ink) == [(20, 20, 5, 40), (50, 20, 40, 40)]


def test_the_two_strokes_of_a_four_are_one_digit():
    ink = np.zeros((80, 80), np.uint8)
    ink[10:40, 10:14] = 255  # the first stroke: down ...
    ink[36:40, 10:50] = 255  # ... and along the bar
    ink[10:34, 36:40] = 255  # the stem above the bar, not touching it
    ink[42:70, 36:40] = 255  # and below it
    assert ndimage.label(ink > 0, np.ones((3, 3)))[1] == 3  # three marks
    assert boxes(ink) == [(10, 10, 40, 60)]


def test_a_five_whose_flag_stands_apart_is_one_digit():
    ink = np.zeros((80, 80), np.uint8)
    ink[10:40, 10:14] = 255  # the body: down, then a bowl
    one_ring(ink, 10, 36, 30)
    ink[8:12, 20:45] = 255  # the flag, drawn apart above the body, overlapping it horizontally
    assert boxes(ink) == [(10, 8, 35, 58)]


def test_a_long_flag_overlapping_only_the_right_of_its_body_joins_it():
    ink = np.zeros((320, 600), np.uint8)
    one_ring(ink, 190, 100, 200, pen=10, width=100)  # the body of a 5, 200 px tall, 100 px wide
    ink[60:80, 260:540] = 255  # its flag, drawn apart: 280 px long, over the body's right 30 px only
    assert boxes(ink) == [(190, 60, 350, 240)]


def test_digits_with_small_gaps_stay_apart():
    ink = np.zeros((60, 200), np.uint8)
    lefts = [10, 44, 78, 112]  # 40 px tall digits, 30 px wide, 4 px (0.1 of the height) apart
    for left in lefts:
        one_ring(ink, left, 10, 40, width=30)
    assert [box[0] for box in boxes(ink)] == lefts


def test_noise_specks_and_a_far_dot_are_ignored():
    rng = np.random.default_rng(0)
    ink = np.zeros((100, 200), np.uint8)
    ink[20:80, 40:46] = 255
    one_ring(ink, 80, 20, 60, pen=6)
    clean = boxes(ink)
    # grain and JPEG ringing above the digits and inside the 0's hole, clear of their ink
    ys = np.concatenate([rng.integers(0, 14, 30), rng.integers(30, 70, 10)])
    xs = np.concatenate([rng.integers(0, 200, 30), rng.integers(90, 130, 10)])
    ink[ys, xs] = rng.integers(30, 255, 40).astype(np.uint8)
    ink[85:93, 180:188] = 255  # a dot far from both digits
    assert boxes(ink) == clean == [(40, 20, 6, 60), (80, 20, 60, 60)]
    # each digit's ink holds only its own component: the specks inside its box are gone
    assert [int((d.ink > 0).sum()) for d in find_digits(ink)] == [6 * 60, 60 * 60 - 48 * 48]


def test_a_texture_of_many_marks_is_one_line_naming_the_file(tmp_path):
    ink = np.zeros((2000, 2000), np.uint8)
    ink[1::4, 1::4] = 255  # 250,000 dots, every one as tall as the tallest
    Image.fromarray(255 - ink).save(tmp_path / "halftone.png")
    result = pipeline_cli("predict", "--artifacts", tmp_path / "no-model", tmp_path / "halftone.png")
    one_line_failure(result, f"Error: {tmp_path / 'halftone.png'}: no number found (250000 separate marks; "
                     "a number has at most 1000)")


def synthetic_numbers() -> list[np.ndarray]:
    """The inks of the tests above, and a dot near, then far, beside two digits."""
    inks = []
    ink = np.zeros((80, 120), np.uint8)
    one_ring(ink, 50, 20, 40)
    ink[20:60, 20:25] = 255
    inks.append(ink)
    ink = np.zeros((80, 80), np.uint8)
    ink[10:40, 10:14] = ink[36:40, 10:50] = ink[10:34, 36:40] = ink[42:70, 36:40] = 255
    inks.append(ink)
    ink = np.zeros((80, 80), np.uint8)
    ink[10:40, 10:14] = 255
    one_ring(ink, 10, 36, 30)
    ink[8:12, 20:45] = 255
    inks.append(ink)
    ink = np.zeros((60, 200), np.uint8)
    for left in (10, 44, 78, 112):
        one_ring(ink, left, 10, 40, width=30)
    inks.append(ink)
    for gap in (12, 30):
        ink = np.zeros((80, 160), np.uint8)
        one_ring(ink, 10, 20, 40, width=30)
        one_ring(ink, 50, 20, 40, width=30)
        ink[36:44, 80 + gap : 88 + gap] = 255  # a dot, larger than a speck
        inks.append(ink)
    return inks


def test_a_dot_near_a_digit_joins_it_and_one_far_from_every_digit_is_dropped():
    """A mark larger than a speck but small beside the digits: 12 px (0.3 of their height) right of one, it
    joins it; 30 px off, it is dropped. Left of the digits, or below them, the same."""
    *_, near, far = synthetic_numbers()
    assert boxes(near) == [(10, 20, 30, 40), (50, 20, 50, 40)]
    assert boxes(far) == [(10, 20, 30, 40), (50, 20, 30, 40)]
    for flip in (np.fliplr, np.flipud):
        assert len(boxes(flip(near))) == 2 and boxes(flip(near)) != boxes(flip(far))


def test_the_digits_found_do_not_depend_on_where_in_the_image_the_number_is():
    """Moved down and right in a larger image, every digit's box moves with it and holds the same ink."""
    for ink in synthetic_numbers():
        found = find_digits(ink)
        moved = find_digits(np.pad(ink, ((300, 20), (500, 20))))
        assert [d.box for d in moved] == [(x + 500, y + 300, w, h) for x, y, w, h in (d.box for d in found)]
        assert [int(d.ink.sum()) for d in moved] == [int(d.ink.sum()) for d in found]
        for d in moved:  # each digit's ink is its box of the image, uint8, holding only its own marks' ink
            x, y, w, h = d.box
            assert d.ink.dtype == np.uint8 and d.ink.shape == (h, w)
            assert np.array_equal(d.ink[d.ink > 0], np.pad(ink, ((300, 20), (500, 20)))[y : y + h, x : x + w][d.ink > 0])


def test_marks_measured_a_band_of_rows_at_a_time_have_the_boxes_of_the_whole(monkeypatch):
    """mark_boxes bounds its memory by reading BAND_PIXELS pixels at a time: every band, in any shape of
    image, must give each mark the box scipy finds for it in the whole label image."""
    rng = np.random.default_rng(3)
    monkeypatch.setattr(segment, "BAND_PIXELS", 40)
    for shape in ((60, 8), (9, 70), (45, 33)):
        labels, count = ndimage.label(rng.random(shape) > 0.8, np.ones((3, 3)))
        expected = [(x.start, y.start, x.stop, y.stop) for y, x in ndimage.find_objects(labels)]
        found = segment.mark_boxes(labels, count)
        assert found.dtype == np.int64 and [tuple(map(int, box)) for box in found] == expected, shape


def test_no_ink_is_no_digit():
    assert find_digits(np.zeros((10, 10), np.uint8)) == []


@pytest.mark.parametrize("style", ["dark-on-light", "light-on-dark"])
def test_number_files_in_either_polarity_give_the_same_digits(style, tmp_path):
    ink = np.zeros((80, 160), np.uint8)
    ink[20:60, 20:25] = 255
    one_ring(ink, 50, 20, 40)
    ink[20:60, 110:115] = 255
    save(ink, tmp_path / "n.png", style)
    digits, polarity = image_to_digits(tmp_path / "n.png")
    assert polarity == style
    assert [box for _, box in digits] == [(20, 20, 5, 40), (50, 20, 40, 40), (110, 20, 5, 40)]
    assert all(image.shape == (28, 28) and image.max() == pytest.approx(1.0) for image, _ in digits)


def test_one_digit_image_is_preprocessed_exactly_as_before(mnist, tmp_path):
    strokes = handwriting.image_to_strokes(mnist.x_test[3])
    placed = placement.place_at(strokes, 280, 0.6, (0.4, 0.5), margin=12)
    save(pen.ink(placed.paths, 280, 20, SUPERSAMPLE), tmp_path / "d.png", "dark-on-light")
    (image, box), = image_to_digits(tmp_path / "d.png")[0]
    assert np.array_equal(image, image_to_mnist(tmp_path / "d.png")[0])
    assert box[2] < 280 and box[3] < 280


# ---------------------------------------------------------------- numbers read by the real model


def write_numbers(mnist, folder, n: int, seed: int) -> list[tuple]:
    """n numbers of 2-4 MNIST test digits as image files: [(path, the number's digits)], cycling through
    SHAPES and STYLES. Digit heights 1/4-1/2 of the image's, gaps 0.1-0.4 of a digit, a drifting
    baseline (placement.place_number), drawn with one pen PEN of the digits' size wide."""
    rng = np.random.default_rng(seed)
    lengths = rng.integers(2, 5, n)
    picks = iter(placement.pick_digits(mnist.y_test, int(lengths.sum()), seed))
    files = []
    for k, length in enumerate(lengths):
        indices = [next(picks) for _ in range(length)]
        width, height = SHAPES[k % len(SHAPES)]
        strokes = [handwriting.image_to_strokes(mnist.x_test[i]) for i in indices]
        placed = placement.place_number(strokes, width, height, rng, margin=PEN * height / 2)
        nib = max(PEN * float(np.median([p.size for p in placed])), 1.5)  # one pen for the whole number
        ink = pen.ink([path for p in placed for path in p.paths], (width, height), nib, SUPERSAMPLE)
        number = "".join(str(mnist.y_test[i]) for i in indices)
        style, suffix = STYLES[k % len(STYLES)]
        path = folder / f"{k:03d}-{number}-{width}x{height}-{style}{suffix}"
        save(ink, path, style)
        files.append((path, number))
    return files


def exact_share(files, results) -> tuple[float, list[str]]:
    misses = [f"{p.name} read as {r['number']}" for (p, truth), r in zip(files, results) if r["number"] != truth]
    return 1 - len(misses) / len(files), misses


def test_numbers_in_png_and_jpeg_of_both_polarities_are_read(mnist, trained_artifacts, tmp_path):
    files = write_numbers(mnist, tmp_path, N_NUMBERS, SEED)
    rows = json.loads(to_json(predict_files([p for p, _ in files], trained_artifacts)))
    share, misses = exact_share(files, rows)
    print(f"\npredict on {len(files)} numbers: {share:.1%} exact; misses: {misses}")
    assert share >= MIN_EXACT, misses
    for (path, truth), row in zip(files, rows):
        assert row["image"] == str(path) and len(row["number"]) == len(row["digits"])
        width, height = Image.open(path).size
        lefts = [d["box"][0] for d in row["digits"]]
        assert lefts == sorted(lefts)
        for d in row["digits"]:
            x, y, w, h = d["box"]
            assert 0 <= x < x + w <= width and 0 <= y < y + h <= height
            assert d["digit"] == int(np.argmax(d["probabilities"][:10])) and abs(sum(d["probabilities"]) - 1) < 1e-3
            assert d["shown"] == (str(d["digit"]) if d["sure"] else "?")
        assert row["number"] == "".join(d["shown"] for d in row["digits"])
        assert (row["doubt"] == "") == all(d["sure"] for d in row["digits"])
        if len(row["digits"]) > 1:
            assert row["digit"] is None and row["probabilities"] is None


def test_text_output_gives_the_number_then_each_digit(mnist, trained_artifacts, tmp_path):
    (path, _), = write_numbers(mnist, tmp_path, 1, SEED)
    rows = predict_files([path], trained_artifacts)
    text = pipeline_cli("predict", "--artifacts", trained_artifacts, path)
    assert text.returncode == 0, text.stderr
    header, number_row, *digit_rows = text.stdout.strip().splitlines()
    assert header.split()[:2] == ["image", "digit"]
    assert number_row.split() == [str(path), rows[0]["number"]]
    assert len(digit_rows) == len(rows[0]["digits"]) + bool(rows[0]["doubt"])
    for k, (line, digit) in enumerate(zip(digit_rows, rows[0]["digits"]), 1):
        x, y, w, h = digit["box"]
        assert line.split()[:3] == [f"{k}:", f"{x},{y}", f"{w}x{h}"] and line.split()[3] == digit["shown"]


def test_text_output_says_what_is_doubtful():
    sure, torn = np.eye(10)[2], np.array([0.0, 0.0, 0.0, 0.0, 0.45, 0.0, 0.0, 0.1, 0.0, 0.45])
    read = [{"digit": int(p.argmax()), **calibration.judge(p), "probabilities": p.tolist(), "box": [k * 30, 0, 20, 28]}
            for k, p in enumerate([sure, torn])]
    result = {"image": "two.png", "number": "2?", "doubt": calibration.doubt_sentence(read), "digits": read}
    lines = to_text([result, {**result, "image": "one.png", "number": "?", "doubt": calibration.doubt_sentence(read[1:]),
                              "digits": read[1:]}]).splitlines()
    assert lines[1].split() == ["two.png", "2?"] and lines[3].split()[3] == "?"
    assert lines[4].strip() == "digit 2: 4 or 9?"
    assert lines[5].split()[:2] == ["one.png", "?"] and lines[6].strip() == "4 or 9?"


LABEL_COLUMNS = "    0     1     2     3     4     5     6     7     8     9     ?"  # each label right-aligned in 5


def test_text_rows_are_exactly_the_documented_columns():
    """Built by hand from to_text's docstring: the names padded to the longest (at least "image"), two spaces,
    the digit column right-aligned to its longest (at least "digit"), two spaces, each probability as 0.000 in
    five characters, one space apart; trailing spaces dropped."""
    seven = [0.001, 0.002, 0.003, 0.004, 0.005, 0.006, 0.007, 0.95, 0.008, 0.009, 0.005]
    one = [0.0, 0.99, 0.0, 0.0, 0.0, 0.0, 0.0, 0.01, 0.0, 0.0, 0.0]
    torn = [0.0, 0.0, 0.0, 0.0, 0.45, 0.0, 0.0, 0.1, 0.0, 0.45, 0.0]
    seven_text = "0.001 0.002 0.003 0.004 0.005 0.006 0.007 0.950 0.008 0.009 0.005"
    one_text = "0.000 0.990 0.000 0.000 0.000 0.000 0.000 0.010 0.000 0.000 0.000"
    torn_text = "0.000 0.000 0.000 0.000 0.450 0.000 0.000 0.100 0.000 0.450 0.000"

    digit = {"image": "a.png", "number": "7", "doubt": "",
             "digits": [{"shown": "7", "probabilities": seven, "box": [3, 4, 20, 28]}]}
    assert to_text([digit]).split("\n") == [
        "image  digit  " + LABEL_COLUMNS,
        "a.png      7  " + seven_text]

    number = {"image": "b.png", "number": "1?", "doubt": "digit 2: 4 or 9?",
              "digits": [{"shown": "1", "probabilities": one, "box": [3, 5, 10, 30]},
                         {"shown": "?", "probabilities": torn, "box": [20, 4, 25, 31]}]}
    # the widest name is the doubt's row, "  digit 2: 4 or 9?": 18 characters
    assert to_text([number]).split("\n") == [
        "image" + " " * 13 + "  digit  " + LABEL_COLUMNS,
        "b.png" + " " * 13 + "     1?",
        "  1: 3,5 10x30" + " " * 4 + "      1  " + one_text,
        "  2: 20,4 25x31" + " " * 3 + "      ?  " + torn_text,
        "  digit 2: 4 or 9?"]

    doubtful = {"image": "c.png", "number": "?", "doubt": "4 or 9?",
                "digits": [{"shown": "?", "probabilities": torn, "box": [0, 0, 9, 9]}]}
    assert to_text([doubtful]).split("\n") == [
        "image" + " " * 4 + "  digit  " + LABEL_COLUMNS,
        "c.png" + " " * 4 + "      ?  " + torn_text,
        "  4 or 9?"]

    wide = {"image": "d.png", "number": "1234567", "doubt": "",
            "digits": [{"shown": str(k), "probabilities": one, "box": [10 * k, 0, 9, 9]} for k in range(1, 8)]}
    lines = to_text([wide]).split("\n")  # a number longer than "digit" widens its column
    # the widest name is a digit's, "  1: 10,0 9x9": 13 characters; the digit column is 7 wide
    assert lines[:3] == ["image" + " " * 8 + "    digit  " + LABEL_COLUMNS,
                         "d.png" + " " * 8 + "  1234567",
                         "  1: 10,0 9x9" + "        1  " + one_text]


# ---------------------------------------------------------------- segmentation's parts, each at its edges


def test_the_distance_between_two_boxes_in_every_direction():
    group = lambda left, top, right, bottom: segment.Group([], (left, top, right, bottom))  # noqa: E731
    centre = group(10, 10, 20, 20)
    for other, distance in [(group(26, 18, 30, 30), 6),  # right of it
                            (group(0, 12, 4, 15), 6),  # left of it
                            (group(12, 27, 15, 30), 7),  # below it
                            (group(12, 0, 15, 3), 7),  # above it
                            (group(23, 24, 30, 30), 5),  # diagonally: 3 across, 4 down
                            (group(15, 15, 30, 30), 0),  # overlapping
                            (group(20, 12, 30, 18), 0)]:  # touching
        assert segment.box_distance(centre, other) == segment.box_distance(other, centre) == distance, other.box


def test_a_diagonal_stroke_one_pixel_wide_is_one_mark_and_the_faintest_ink_counts():
    """Marks are 8-connected: pixels touching at a corner are one mark. Ink of level 1 is ink."""
    assert [d.box for d in find_digits((np.eye(30) * 255).astype(np.uint8))] == [(0, 0, 30, 30)]
    faint = np.zeros((40, 20), np.uint8)
    faint[5:35, 8:12] = 1
    assert [d.box for d in find_digits(faint)] == [(8, 5, 4, 30)]


def test_a_mark_exactly_a_speck_long_is_kept_and_joins_the_digit_beside_it():
    ink = np.zeros((100, 100), np.uint8)
    ink[20:70, 20:25] = 255  # a 1, 50 high: a speck is under 0.1 x 50 = 5 px
    ink[40, 30:35] = 255  # a dash exactly 5 px long, 5 px right of it
    assert [d.box for d in find_digits(ink)] == [(20, 20, 15, 50)]


def test_digits_are_read_by_their_horizontal_centre_whatever_their_height_on_the_line():
    ink = np.zeros((120, 60), np.uint8)
    ink[60:100, 0:5] = 255  # left and low
    ink[0:40, 40:45] = 255  # right and high
    assert [d.box[0] for d in find_digits(ink)] == [0, 40]


def test_too_many_marks_says_how_many_in_process():
    ink = np.zeros((200, 200), np.uint8)
    ink[1::4, 1::4] = 255  # 2500 dots
    with pytest.raises(segment.TooManyMarks, match=r"^2500 separate marks; a number has at most 1000$"):
        find_digits(ink)


def test_overlap_is_at_least_half_the_narrower_width_and_one_pixel_is_enough_for_a_stem():
    group = lambda left, right: segment.Group([], (left, 0, right, 10))  # noqa: E731
    assert segment.overlapping(group(0, 10), group(5, 15))  # 5 of 10: exactly half
    assert not segment.overlapping(group(0, 10), group(6, 16))  # 4 of 10
    assert not segment.overlapping(group(0, 10), group(9, 14))  # 1 of 5: neighbours leaning into each other
    assert segment.overlapping(group(0, 10), group(5, 6))  # a stem one pixel wide inside a bar
    assert not segment.overlapping(group(0, 10), group(10, 20))  # side by side, touching


def test_a_digit_of_several_marks_holds_the_ink_of_every_one():
    ink = np.zeros((80, 80), np.uint8)
    ink[10:40, 10:14] = 255  # a 4: the first stroke down ...
    ink[36:40, 10:50] = 200  # ... and along the bar
    ink[10:34, 36:40] = 100  # the stem above the bar, not touching it: a mark of its own
    (digit,) = find_digits(ink)
    assert int(digit.ink.sum()) == int(ink.sum())


def test_the_typical_height_counts_a_mark_exactly_typical_x_the_tallest():
    """Marks 200 and 140 (0.7 x 200) high: the typical height is 170, so a fragment 90 px off (more than 0.5 x 170)
    is dropped, where a typical height of 200 would let it join."""
    ink = np.zeros((260, 700), np.uint8)
    ink[20:220, 20:30] = 255
    ink[20:160, 500:510] = 255
    ink[100:120, 120:140] = 255  # 20 x 20, 90 px right of the first
    assert [d.box for d in find_digits(ink)] == [(20, 20, 10, 200), (500, 20, 10, 140)]


def test_a_mark_exactly_small_x_the_height_is_no_fragment_and_one_exactly_near_joins():
    """With digits 50 high: a mark 15 px long (0.3 x 50) far from them stays a digit of its own; a fragment
    (6 px) exactly 25 px (0.5 x 50) off joins the digit."""
    ink = np.zeros((100, 300), np.uint8)
    ink[20:70, 20:25] = 255
    ink[20:70, 200:205] = 255
    ink[30:45, 100:102] = 255  # 15 px high, 75 px from either
    ink[40:46, 230:236] = 255  # 6 x 6, 25 px right of the second
    assert [d.box for d in find_digits(ink)] == [(20, 20, 5, 50), (100, 30, 2, 15), (200, 20, 36, 50)]
