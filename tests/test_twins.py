"""One source per fact across languages: the page's JavaScript repeats no value of pipeline/contract.py, and
the page's segmentation (site_template/js/segment.js, on strokes) groups a number's ink into the same digits
as `pipeline predict`'s (pipeline/tools/segment.py, on the pixels the page shows for those strokes)."""

from __future__ import annotations

import json
import numbers
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from bench import placement
from pipeline import contract
from pipeline.build.site import page_config
from pipeline.contract import PAD_PEN
from pipeline.data import handwriting, pen
from pipeline.tools.segment import find_digits
from tests.helpers import BROKEN, SUPERSAMPLE, written

ROOT = Path(__file__).resolve().parent.parent
JS_DIR = ROOT / "site_template" / "js"
HARMLESS = {0, 1, 2}  # counts, halves and pairs: too common to be a copy of the contract
# Literals that equal a contract value by chance, with what they are (a new one needs a reason here):
ALLOWED = {
    ("adapt.js", 0.12): "the personal head's augmentation: rotation, radians per standard normal",
    ("adapt.js", 0.25): "the personal head's augmentation: range of the scale",
    ("adapt.js", 1.5): "the personal head's augmentation: largest shift, pixels",
}
PAD_HEIGHT = 200  # the pad's height in canvas pixels when its pixels are rendered for segment.py
N_NUMBERS = 12  # numbers of MNIST test digits fed to both segmentations
SEED = 3232


def contract_values(value=None) -> set[float]:
    """Every number pipeline/contract.py names (in constants, tuples and dicts), bools left out."""
    if value is None:
        return set().union(*(contract_values(v) for k, v in vars(contract).items() if k.isupper()))
    if isinstance(value, bool):
        return set()
    if isinstance(value, numbers.Real):
        return {float(value)}
    if isinstance(value, dict):
        value = list(value.values())
    if isinstance(value, (list, tuple)):
        return set().union(set(), *(contract_values(v) for v in value))
    return set()


def twin_literals(js_dir: Path) -> list[str]:
    """'FILE:LINE: VALUE' for each numeric literal of a .js file in js_dir that pipeline/contract.py names."""
    files = sorted(js_dir.glob("*.js"))
    found = json.loads(subprocess.run(["node", str(ROOT / "tests/js/numeric_literals.mjs"), *map(str, files)],
                                      capture_output=True, text=True, check=True, cwd=ROOT).stdout)
    named = contract_values() - HARMLESS
    return [f"{Path(file).name}:{line}: {value:g}" for file, literals in found.items() for value, line in literals
            if value in named and (Path(file).name, value) not in ALLOWED]


def test_no_js_file_holds_a_value_the_contract_names():
    assert twin_literals(JS_DIR) == [], "read it from the page's config (pipeline/build/site.py page_config)"


@pytest.mark.parametrize("pasted", ["const CUT = 0.7;", "const side = 28;", "export const pen = 1 / 32 + 0.12;"])
def test_a_contract_value_pasted_into_the_page_is_found(tmp_path, pasted):
    copy = tmp_path / "js"
    shutil.copytree(JS_DIR, copy)
    with (copy / "segment.js").open("a") as f:
        f.write(f"\n// {pasted} (a comment is no copy)\n{pasted}\n")
    found = twin_literals(copy)
    assert found and all(line.startswith("segment.js:") for line in found), found


def test_every_rule_and_pen_of_the_page_comes_from_the_contract():
    config = page_config("test")
    rules, pen = config["segmentation"], config["pen"]
    assert rules["typical"] == contract.SEGMENT_TYPICAL and rules["partGap"] == contract.SEGMENT_PART_GAP
    assert rules["look"] == contract.SEGMENT_LOOK and pen == {
        "pad": contract.PAD_PEN, "digit": contract.DIGIT_PEN, "digitSide": contract.DIGIT_SIDE}
    assert len(rules) == sum(name.startswith("SEGMENT_") for name in vars(contract))


# ---------------------------------------------------------------- segmentation parity


def js_groups(numbers_strokes: list[list[np.ndarray]]) -> list[list[list[int]]]:
    """segment.js's groups (stroke indices) per number, run in Node with the page's rules."""
    request = {"rules": page_config("test")["segmentation"],
               "numbers": [[np.asarray(s).tolist() for s in strokes] for strokes in numbers_strokes]}
    out = subprocess.run(["node", str(ROOT / "tests/js/segment_groups.mjs")], input=json.dumps(request),
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    return [sorted(sorted(g) for g in groups) for groups in json.loads(out)]


def py_groups(strokes: list[np.ndarray], width: int) -> list[list[int]]:
    """segment.py's groups on the pad's pixels: the strokes (pad units) drawn as the page draws them (its pen
    PAD_PEN × the pad's height), each stroke counted in the digit that holds most of its own ink."""
    size, nib = (width, PAD_HEIGHT), PAD_PEN * PAD_HEIGHT
    pixels = [s * PAD_HEIGHT for s in strokes]
    owner = np.full((PAD_HEIGHT, width), -1)
    for k, digit in enumerate(find_digits(pen.ink(pixels, size, nib, SUPERSAMPLE))):
        x, y, w, h = digit.box
        owner[y : y + h, x : x + w][digit.ink > 0] = k
    groups: dict[int, list[int]] = {}
    for i, stroke in enumerate(pixels):
        mine = owner[pen.ink([stroke], size, nib, SUPERSAMPLE) > 0]
        mine = mine[mine >= 0]
        if mine.size:
            groups.setdefault(int(np.bincount(mine).argmax()), []).append(i)
    return sorted(groups.values())


def mnist_numbers(mnist, count: int, width: int) -> list[list[np.ndarray]]:
    """`count` numbers of 2-4 MNIST test digits placed as a person writes them on a pad `width` × PAD_HEIGHT,
    in pad units (bench/bench_numbers.py's way)."""
    rng = np.random.default_rng(SEED)
    lengths = rng.integers(2, 5, count)
    picks = iter(placement.pick_digits(mnist.y_test, int(lengths.sum()), SEED))
    out = []
    for length in lengths:
        digits = [handwriting.image_to_strokes(mnist.x_test[next(picks)]) for _ in range(length)]
        placed = placement.place_number(digits, width, PAD_HEIGHT, rng, margin=PAD_HEIGHT * PAD_PEN)
        out.append([path / PAD_HEIGHT for digit in placed for path in digit.paths])
    return out


def test_broken_digits_are_grouped_alike_on_strokes_and_on_pixels():
    texts = ["5", "150", "51", "04", "141", "54"]
    numbers_strokes = [written(text) for text in texts]
    truth = [[[i for i, char_stroke in enumerate(owners) if char_stroke == k] for k in range(len(text))]
             for text, owners in ((t, [k for k, c in enumerate(t) for _ in BROKEN[c]]) for t in texts)]
    width = 2 * PAD_HEIGHT
    assert js_groups(numbers_strokes) == truth
    assert [py_groups(strokes, width) for strokes in numbers_strokes] == truth


def test_numbers_of_mnist_digits_are_grouped_alike_on_strokes_and_on_pixels(mnist):
    width = 2 * PAD_HEIGHT
    numbers_strokes = mnist_numbers(mnist, N_NUMBERS, width)
    assert js_groups(numbers_strokes) == [py_groups(strokes, width) for strokes in numbers_strokes]
