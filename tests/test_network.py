"""pipeline/network.py: which layers the network view shows, and which graph node computes each."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import network
from pipeline.config import ModelConfig


def test_the_view_shows_input_activations_poolings_and_output_with_their_weights():
    from pipeline.train.model import build_model

    model = build_model(ModelConfig(filters=(4, 6, 8), dense_units=10, extra_blocks=1))
    shown = network.shown_layers(model)
    assert [(l["name"], l["kind"]) for l in shown] == [
        ("image", "input"), ("c1_relu", "conv"), ("c2_relu", "conv"), ("pool1", "pool"), ("c3_relu", "conv"),
        ("pool2", "pool"), ("c4_relu", "conv"), ("c5_relu", "conv"), ("dense_relu", "dense"), ("probabilities", "output")]
    assert [l["shape"] for l in shown][:4] == [[28, 28, 1], [26, 26, 4], [24, 24, 6], [12, 12, 6]]
    assert sum(l["weights"] for l in shown) == model.count_params()  # every weight counted once, at its block
    assert shown[1]["weights"] == 3 * 3 * 4 + 4 * 4  # c1: its kernel and its batch norm's four vectors


def test_a_layer_matches_the_node_that_computes_it_or_that_node_through_a_relu():
    rng = np.random.default_rng(0)
    before_relu = rng.normal(size=(3, 4, 4, 2)).astype(np.float32)
    layers = [{"name": "image", "kind": "input"}, {"name": "c1_relu", "kind": "conv"}, {"name": "pool", "kind": "pool"}]
    keras_values = [None, np.maximum(before_relu, 0), before_relu[:, ::2, ::2]]
    nodes = {"bn/add": before_relu, "pooled": before_relu[:, ::2, ::2] + 0.01, "other": rng.normal(size=(3, 4, 4, 2))}
    found = network.match_nodes(layers, keras_values, nodes, "x")
    assert [(f["node"], f["relu"]) for f in found] == [("x", False), ("bn/add", True), ("pooled", False)]
    assert found[2]["error"] == pytest.approx(0.01 / np.abs(before_relu[:, ::2, ::2]).max(), rel=1e-3)


def test_a_layer_no_node_computes_is_refused_in_one_line():
    layers = [{"name": "c1_relu", "kind": "conv"}]
    with pytest.raises(network.NetworkError, match=r"no node of the converted graph model computes layer c1_relu \(2, 2, 1\) "
                                                   r"\(none has its shape\)"):
        network.match_nodes(layers, [np.ones((1, 2, 2, 1))], {"n": np.ones((1, 3, 3, 1))}, "x")
    with pytest.raises(network.NetworkError, match=r"the closest differs by 100%"):
        network.match_nodes(layers, [np.ones((1, 2, 2, 1))], {"n": np.zeros((1, 2, 2, 1))}, "x")
