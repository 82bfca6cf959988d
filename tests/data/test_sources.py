"""Non-digit sources made by others (pipeline/data/sources.py): read from their pinned packages, digit look-alikes
left out by the stated rule, and the held-out sources never reaching training (leave-one-source-out)."""

from __future__ import annotations

import sys

import numpy as np
import pytest

from pipeline.config import TrainConfig
from pipeline.data import DataError, nondigits, sources


@pytest.fixture
def uncached():
    """sources.glyphs caches what it read; a test that breaks a package must not see the cache, nor leave its own."""
    sources.glyphs.cache_clear()
    yield
    sources.glyphs.cache_clear()


def test_every_source_gives_glyphs_in_the_unit_box():
    for name in sources.SOURCES:
        glyphs = sources.glyphs(name)
        assert len(glyphs) >= 80, name
        for _, strokes in glyphs[:: max(1, len(glyphs) // 10)]:
            points = np.concatenate(strokes)
            assert points.min() >= -1e-9 and points.max() <= 1 + 1e-9
            assert (points.max(0) - points.min(0)).max() == pytest.approx(1)


def test_a_missing_icon_package_is_one_line_naming_it_and_make_setup(uncached, monkeypatch, tmp_path):
    monkeypatch.setattr(sources, "FEATHER_ICONS", tmp_path / "node_modules" / "feather-icons" / "dist" / "icons")
    with pytest.raises(DataError) as caught:
        sources.glyphs("feather-icons")
    message = str(caught.value)
    assert "\n" not in message and "feather-icons is missing" in message and "make setup" in message


def test_a_missing_font_package_is_one_line_naming_it_and_make_setup(uncached, monkeypatch):
    monkeypatch.setitem(sys.modules, "HersheyFonts", None)  # import fails as if it were not installed
    with pytest.raises(DataError) as caught:
        sources.glyphs("hershey-roman")
    message = str(caught.value)
    assert "\n" not in message and "Hershey-Fonts package is missing" in message and "make setup" in message


def test_an_unknown_source_is_one_line_listing_the_known():
    with pytest.raises(DataError, match="unknown non-digit source 'nope'; known: hershey-roman"):
        sources.glyphs("nope")


def test_listed_look_alikes_are_read_from_the_package_but_never_drawn():
    """The list per source: O, l, S, Z, ... are in the font, and not among the glyphs kept; other letters are."""
    read = sources.SOURCES["hershey-roman"].read()
    kept = {name for name, _ in sources.glyphs("hershey-roman")}
    for char in "OolISZbq":
        assert f"futural {char}" in read and f"futural {char}" not in kept, char
    assert {"futural A", "futural C", "futural U", "futural u", "futural v"} <= kept
    kept_cyrillic = {name for name, _ in sources.glyphs("hershey-cyrillic")}
    assert "cyrillic Z" not in kept_cyrillic and "cyrillic b" not in kept_cyrillic  # З (3), б (6)
    assert "cyrillic D" in kept_cyrillic  # Д
    icons = {name for name, _ in sources.glyphs("feather-icons")}
    assert "circle" not in icons and "minus" not in icons and {"anchor", "arrow-left", "home"} <= icons


def test_the_shape_check_finds_dots_lines_arcs_and_rings_but_not_letters():
    t = np.linspace(0, 2 * np.pi, 40)
    ring = [np.stack([np.cos(t), np.sin(t)], 1)]
    line = [np.array([[0, 0], [0.1, 1.0]])]
    arc = [np.stack([0.3 * np.cos(t[5:16]), np.sin(t[5:16])], 1)]  # a bracket, (
    dot = [np.array([[0, 0], [0.05, 0.02]])]
    cross = [np.array([[0, 0], [1, 1]]), np.array([[1, 0], [0, 1]])]
    open_c = [np.stack([np.cos(t[4:36]), np.sin(t[4:36])], 1)]  # a C: an arc, but a wide one
    assert sources.digit_like(ring, 2) and sources.digit_like(line, 1) and sources.digit_like(arc, 2)
    assert sources.digit_like(dot, 1)
    assert not sources.digit_like(cross, 1) and not sources.digit_like(open_c, 2)


def test_held_out_sources_hold_out_a_whole_family_and_one_source_of_a_trained_family():
    families = {name: source.family for name, source in sources.SOURCES.items()}
    trained_families = {families[name] for name in sources.TRAINED}
    held_out_families = {families[name] for name in sources.HELD_OUT}
    assert held_out_families - trained_families, "a whole family held out"
    assert held_out_families & trained_families, "a source held out of a family that is trained"
    assert not set(sources.TRAINED) & set(sources.HELD_OUT)
    assert not set(nondigits.TRAINED) & set(nondigits.HELD_OUT)


def test_training_and_validation_never_read_a_held_out_source(monkeypatch, mnist, tmp_path):
    """The real split (pipeline.train.loop.split_data) draws its non-digits: every trained source is read, a held-out
    one never (this fails if a held-out source reaches the training or validation images by any path)."""
    from pipeline.train.loop import split_data

    monkeypatch.setenv("PIPELINE_CACHE", str(tmp_path))  # nothing kept from an earlier run: all drawn here
    read, glyphs = [], sources.glyphs
    monkeypatch.setattr(sources, "glyphs", lambda name: read.append(name) or glyphs(name))
    config = TrainConfig(train_limit=600, validation_size=200, test_limit=10, redrawn=0.0, nondigits=0.5)
    data = split_data(config, mnist, lambda *_: None)
    assert not set(read) & set(sources.HELD_OUT), "a held-out source was drawn for training or validation"
    assert set(read) == set(sources.TRAINED)
    assert np.sum(data.y_fit == 10) == 200 and np.sum(data.y_val == 10) == 100


def test_source_drawings_vary_and_are_mnist_shaped():
    for name in sources.SOURCES:
        images = nondigits.generate(8, 3, (name,))
        assert images.shape == (8, 28, 28) and images.max() > 128
        assert len({image.tobytes() for image in images}) == 8, name
