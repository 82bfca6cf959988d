"""Drawn images kept between runs (pipeline/data/cache.py), as the non-digits use it: read back exactly, never
stale, and a file that is not what was kept is said and drawn again."""

from __future__ import annotations

import os
import time
import types

import numpy as np
import pytest

from pipeline.data import cache, nondigits, sources


@pytest.fixture
def overlaps(mnist) -> np.ndarray:
    return mnist.x_train[:300][mnist.y_train[:300] != 1]


def kept_files(folder):
    return sorted(folder.glob("*.npz"))


def test_kept_non_digits_are_read_back_exactly_and_not_drawn_again(overlaps, tmp_path, monkeypatch):
    drawn = nondigits.generate(30, 4, nondigits.TRAINED, overlaps)
    assert np.array_equal(nondigits.generate(30, 4, nondigits.TRAINED, overlaps, tmp_path), drawn)
    assert len(kept_files(tmp_path)) == 1

    def no_drawing(*args):
        raise AssertionError("drawn again")
    monkeypatch.setattr(nondigits, "_drawn", no_drawing)
    assert np.array_equal(nondigits.generate(30, 4, nondigits.TRAINED, overlaps, tmp_path), drawn)


def test_every_input_that_decides_the_drawings_names_another_file(overlaps, tmp_path):
    nondigits.generate(12, 4, nondigits.TRAINED, overlaps, tmp_path)
    nondigits.generate(13, 4, nondigits.TRAINED, overlaps, tmp_path)  # count
    nondigits.generate(12, 5, nondigits.TRAINED, overlaps, tmp_path)  # seed
    nondigits.generate(12, 4, nondigits.OWN, overlaps, tmp_path)  # kinds
    nondigits.generate(12, 4, nondigits.TRAINED, overlaps[1:], tmp_path)  # the digits overlapped
    assert len(kept_files(tmp_path)) == 5


def test_without_a_folder_nothing_is_kept(overlaps, tmp_path, monkeypatch):
    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path / "cache"))
    nondigits.labelled(12, 6, overlaps, np.zeros(len(overlaps), np.uint8))
    assert not (tmp_path / "cache").exists()
    nondigits.labelled(12, 6, overlaps, np.zeros(len(overlaps), np.uint8), cache_dir=cache.folder(nondigits.FOLDER))
    assert len(kept_files(tmp_path / "cache" / "nondigits")) == 2, "the kinds written here and the sources"


def test_no_drawing_no_file(tmp_path):
    assert nondigits.generate(0, 4, sources.TRAINED, cache_dir=tmp_path).shape == (0, 28, 28)
    assert kept_files(tmp_path) == []


def test_the_key_follows_the_code_and_the_packages_versions(tmp_path, monkeypatch):
    module = types.ModuleType("drawer")
    module.__file__ = str(tmp_path / "drawer.py")
    (tmp_path / "drawer.py").write_text("WIDTH = 1\n")
    first = cache.key([module], ["pillow"], "12", b"\x00\x01")
    assert cache.key([module], ["pillow"], "12", b"\x00\x01") == first
    assert cache.key([module], ["pillow"], "12", b"\x00\x02") != first
    assert cache.key([module], ["pillow"], "1", "2", b"\x00\x01") != first, "inputs are kept apart"
    monkeypatch.setattr(cache, "version", lambda package: "0.0")
    assert cache.key([module], ["pillow"], "12", b"\x00\x01") != first
    monkeypatch.undo()
    (tmp_path / "drawer.py").write_text("WIDTH = 2\n")
    assert cache.key([module], ["pillow"], "12", b"\x00\x01") != first


def test_versions_come_from_pypi_and_npm_packages_and_a_missing_one_is_said():
    assert cache.version("numpy") == np.__version__
    assert cache.version("npm:feather-icons").count(".") == 2
    assert cache.version("npm:no-such-package") == cache.version("no-such-package") == "missing"


@pytest.mark.parametrize("damage", [b"PK\x03\x04 not a zip", b"", "truncated", "another shape"])
def test_a_kept_file_that_is_not_what_was_kept_is_said_and_drawn_again(overlaps, tmp_path, damage):
    drawn = nondigits.generate(10, 4, nondigits.TRAINED, overlaps, tmp_path)
    (kept,) = kept_files(tmp_path)
    if damage == "truncated":
        damage = kept.read_bytes()[:100]
    elif damage == "another shape":
        np.savez(kept, drawn=drawn[:3])
    if isinstance(damage, bytes):
        kept.write_bytes(damage)
    lines = []
    assert np.array_equal(nondigits.generate(10, 4, nondigits.TRAINED, overlaps, tmp_path, lines.append), drawn)
    assert len(lines) == 1 and lines[0].startswith(f"data: non-digits' cache {kept} unusable, drawing again ("), lines
    lines.clear()
    assert np.array_equal(nondigits.generate(10, 4, nondigits.TRAINED, overlaps, tmp_path, lines.append), drawn)
    assert lines == [], "kept again, whole"


def test_a_file_no_run_has_used_for_a_month_goes_when_another_is_kept(overlaps, tmp_path):
    nondigits.generate(10, 4, nondigits.TRAINED, overlaps, tmp_path)
    nondigits.generate(10, 5, nondigits.TRAINED, overlaps, tmp_path)
    used, unused = kept_files(tmp_path)
    month_ago = time.time() - (cache.UNUSED_DAYS + 1) * 86400
    for path in (used, unused):
        os.utime(path, (month_ago, month_ago))
    read_back = {nondigits.generate(10, seed, nondigits.TRAINED, overlaps, tmp_path).tobytes(): seed for seed in (4, 5)}
    assert len(read_back) == 2
    os.utime(unused, (month_ago, month_ago))  # reading it marked it used; this one is left unused again
    nondigits.generate(10, 6, nondigits.TRAINED, overlaps, tmp_path)  # another file kept beside them
    assert unused not in kept_files(tmp_path) and used in kept_files(tmp_path) and len(kept_files(tmp_path)) == 2
