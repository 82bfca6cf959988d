"""The MNIST subset shipped for train.html: real images, balanced, seeded, test part from the test set only."""

import json
import re

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.build.subset import MANIFEST_FILE, SAMPLES_FILE, SubsetConfig, SubsetError, read_sprite, write_subset
from pipeline.data import handwriting


def _rows_in(images, picked):
    """Index in `images` (N, 28, 28) of each of `picked`'s images (exact pixel match), -1 if absent."""
    lookup = {img.tobytes(): i for i, img in enumerate(images)}
    return np.array([lookup.get(img.tobytes(), -1) for img in picked])


@pytest.fixture(scope="module")
def small_subset(mnist, tmp_path_factory):
    out = tmp_path_factory.mktemp("subset")
    manifest = write_subset(mnist, out, SubsetConfig(train_per_class=30, test_per_class=7, seed=3))
    return out, manifest


def test_sprites_and_labels_are_real_mnist_balanced_and_held_out(mnist, small_subset):
    out, manifest = small_subset
    assert json.loads((out / MANIFEST_FILE).read_text()) == manifest
    for part, x, y, per_class in (("train", mnist.x_train, mnist.y_train, 30), ("test", mnist.x_test, mnist.y_test, 7)):
        images = read_sprite((out / manifest[part]["images"]).read_bytes())
        labels = np.frombuffer((out / manifest[part]["labels"]).read_bytes(), dtype=np.uint8)
        assert images.shape == (per_class * 10, 28, 28) and labels.shape == (per_class * 10,)
        assert manifest[part]["count"] == per_class * 10
        assert np.bincount(labels, minlength=10).tolist() == [per_class] * 10
        rows = _rows_in(x, images)
        assert (rows >= 0).all(), f"{part}: every sprite row is an MNIST {part} image, pixel for pixel"
        assert (y[rows] == labels).all(), f"{part}: labels match the images"
        assert len(set(rows.tolist())) == len(rows), "no image twice"
        assert len(set(labels[:10].tolist())) > 3, "classes are shuffled, not in blocks"
    test_images = read_sprite((out / manifest["test"]["images"]).read_bytes())
    assert manifest["bytes"] == sum((out / manifest[p][k]).stat().st_size for p in ("train", "test") for k in ("images", "labels"))


def test_the_samples_are_the_first_held_out_image_of_each_digit_traced_into_strokes(small_subset):
    out, manifest = small_subset
    samples = json.loads((out / SAMPLES_FILE).read_text())["digits"]
    assert [sample["label"] for sample in samples] == [str(d) for d in range(10)]
    images = read_sprite((out / manifest["test"]["images"]).read_bytes())
    labels = np.frombuffer((out / manifest["test"]["labels"]).read_bytes(), dtype=np.uint8)
    for digit, sample in enumerate(samples):
        traced = handwriting.image_to_strokes(images[np.flatnonzero(labels == digit)[0]]).paths
        assert len(sample["strokes"]) == len(traced)
        for drawn, path in zip(sample["strokes"], traced):
            assert np.allclose(drawn, path, atol=1e-3), "the first held-out image of the digit, rounded to 0.001"
        points = np.concatenate([np.array(stroke) for stroke in sample["strokes"]])
        assert points.min() >= 0 and points.max() <= 1 and np.ptp(points, axis=0).max() == pytest.approx(1, abs=0.05)
    assert (out / SAMPLES_FILE).stat().st_size < 30_000, "a small fetch at the first sample"


def test_same_seed_same_subset_other_seed_other_subset(mnist, small_subset, tmp_path):
    out, manifest = small_subset
    write_subset(mnist, tmp_path, SubsetConfig(train_per_class=30, test_per_class=7, seed=3))
    assert (tmp_path / "train-images.png").read_bytes() == (out / "train-images.png").read_bytes()
    write_subset(mnist, tmp_path, SubsetConfig(train_per_class=30, test_per_class=7, seed=4))
    assert (tmp_path / "train-labels.bin").read_bytes() != (out / "train-labels.bin").read_bytes()


def test_default_size_is_small_for_a_first_load(mnist, tmp_path):
    manifest = write_subset(mnist, tmp_path)
    assert manifest["train"]["count"] == 12_000 and manifest["test"]["count"] == 2_000
    assert 1.5e6 < manifest["bytes"] < 3e6


@pytest.mark.parametrize("config, flag", [(SubsetConfig(train_per_class=6000), "--train-per-class"),
                                          (SubsetConfig(test_per_class=5000), "--test-per-class")])
def test_more_than_the_rarest_digit_has_is_refused(mnist, tmp_path, config, flag):
    with pytest.raises(SubsetError, match=flag):
        write_subset(mnist, tmp_path, config)


def test_build_cli_refuses_an_empty_subset(tmp_path):
    artifacts = tmp_path / "artifacts"
    result = CliRunner().invoke(main, ["build", "--artifacts", str(artifacts), "--train-per-class", "0"])
    assert result.exit_code == 2 and "--train-per-class" in result.output


def test_build_ships_the_subset_and_no_chart_library(built_dist):
    manifest = json.loads((built_dist / "data" / MANIFEST_FILE).read_text())
    assert manifest["train"]["count"] == 12_000 and manifest["test"]["count"] == 2_000
    for part in ("train", "test"):
        assert (built_dist / "data" / manifest[part]["images"]).stat().st_size > 100_000
    # The lab's charts are the site's own SVG (js/report/chart-view.js): no chart library is shipped.
    assert not list((built_dist / "vendor").glob("tfjs-vis*"))


def test_train_page_loads_only_relative_urls_that_exist_in_dist(built_dist):
    html = (built_dist / "train.html").read_text()
    fetched = re.findall(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"', html)
    imports = json.loads(re.search(r'<script type="importmap">(.*?)</script>', html, re.S).group(1))["imports"]
    urls = fetched + list(imports.values())
    assert len(urls) >= 10
    for url in urls:
        assert not re.match(r"^([a-z]+:|/)", url), f"{url}: not relative"
        path = url.split("?")[0].removeprefix("./")
        assert (built_dist / path).is_file(), f"{url}: not in dist/"
    config = json.loads(re.search(r'<script type="application/json" id="app-config">(.*?)</script>', html, re.S).group(1))
    assert (built_dist / config["subsetUrl"]).is_file()
    assert 'href="train.html"' in (built_dist / "index.html").read_text(), "the main page links to the train page"
