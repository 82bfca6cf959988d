"""Export with the real converter: the tfjs model agrees with Keras, is quantized, and failures replace nothing."""

import json
import shutil
import subprocess

import numpy as np
import pytest

from pipeline.config import ExportConfig
from pipeline.export import ExportError, check_parity, converter_command, export, predict_tfjs
from tests.helpers import NODE_MODULES, ROOT, quiet



def test_session_export_agrees_with_keras_on_all_test_images(trained_artifacts):
    report = json.loads((trained_artifacts / "tfjs" / "export.json").read_text())
    assert report["parity_images"] == 10000
    assert report["argmax_agreement"] >= 0.999
    assert 0 < report["max_probability_difference"] < 0.25  # uint8 weights: near, not equal
    model_json = json.loads((trained_artifacts / "tfjs" / "model.json").read_text())
    assert model_json["format"] == "graph-model"
    dtypes = {w.get("quantization", {}).get("dtype") for g in model_json["weightsManifest"] for w in g["weights"]}
    assert "uint8" in dtypes


def test_tfjs_runtime_predictions_match_keras(trained_artifacts, mnist):
    import keras

    x = (mnist.x_test[:200, ..., None] / 255.0).astype("float32")
    keras_probs = keras.saving.load_model(trained_artifacts / "model.keras", compile=False).predict(x, verbose=0)
    tfjs_probs, _, _ = predict_tfjs(trained_artifacts / "tfjs", x, NODE_MODULES)
    np.testing.assert_allclose(tfjs_probs.sum(1), 1.0, atol=1e-4)
    assert np.abs(tfjs_probs - keras_probs).mean() < 0.005
    assert (tfjs_probs.argmax(1) == keras_probs.argmax(1)).mean() >= 0.99


@pytest.fixture
def own_artifacts(trained_artifacts, tmp_path):
    """A private copy of the session artefacts that a test may re-export."""
    target = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, target)
    return target


def test_a_float_export_without_a_block(own_artifacts):
    """Float weights: bigger and closer to Keras. No block (0 directions): adapt.json has none, adapt.bin holds the
    features and labels alone, and the features' version is the weights' alone."""
    import keras

    from pipeline.export import features_version

    uint8_bytes = json.loads((own_artifacts / "tfjs" / "export.json").read_text())["weight_bytes"]
    config = ExportConfig(quantize="none", parity_images=1000, replay_per_class=20, block_directions=0)
    report = export(own_artifacts, config, NODE_MODULES, log=quiet)
    assert report["weight_bytes"] > 3.5 * uint8_bytes
    assert report["max_probability_difference"] < 1e-4
    assert report["argmax_agreement"] == 1.0
    adapt = json.loads((own_artifacts / "tfjs" / "adapt.json").read_text())
    assert "block" not in adapt and report["block_directions"] == 0
    assert (own_artifacts / "tfjs" / "adapt.bin").stat().st_size == adapt["replay"]["count"] * (adapt["features"] + 1)
    model = keras.saving.load_model(own_artifacts / "model.keras", compile=False)
    assert adapt["features_version"] == report["features_version"] == features_version(model)


def test_failed_check_keeps_the_previous_model(own_artifacts):
    before = {p.name: p.read_bytes() for p in (own_artifacts / "tfjs").iterdir()}
    impossible = ExportConfig(quantize="float16", min_agreement=1.01, parity_images=500)
    with pytest.raises(ExportError, match="disagrees with Keras .* nothing was replaced"):
        export(own_artifacts, impossible, NODE_MODULES, log=quiet)
    after = {p.name: p.read_bytes() for p in (own_artifacts / "tfjs").iterdir()}
    assert after == before
    assert not [p for p in own_artifacts.iterdir() if p.name.startswith(".")], "no staging folder left"


def test_a_parity_failure_names_the_finer_quantization_to_try():
    keras_probs = np.eye(11, dtype=np.float32)[np.arange(1000) % 10]
    tfjs_probs = keras_probs.copy()
    tfjs_probs[:2] = np.roll(tfjs_probs[:2], 1, axis=1)  # 2 answers of 1000 moved: 0.2 %, over the 0.1 % allowed
    labels = (np.arange(1000) % 10).astype(np.uint8)
    for quantize, hint in [("uint8", "; --quantize float16 keeps"), ("float16", "; --quantize none keeps"), ("none", "")]:
        with pytest.raises(ExportError) as error:
            check_parity(keras_probs, tfjs_probs, labels, ExportConfig(quantize=quantize), log=quiet)
        message = str(error.value)
        assert "disagrees with Keras on 0.200% of test images (allowed 0.100%); nothing was replaced" in message
        assert message.endswith("nothing was replaced" + hint + (" the weights closer to Keras's" if hint else ""))
        assert "\n" not in message
    assert check_parity(keras_probs, keras_probs, labels, ExportConfig(), log=quiet)["argmax_agreement"] == 1.0


def test_missing_model_and_bad_quantize_are_clear(tmp_path):
    with pytest.raises(ExportError, match=r"model.keras: no trained model"):
        export(tmp_path, log=quiet)
    with pytest.raises(ExportError, match="--quantize: expected one of uint8, float16, none"):
        converter_command(tmp_path, tmp_path, "int4")


def test_quantize_flag_is_written_with_its_star(tmp_path):
    cmd = converter_command(tmp_path / "saved", tmp_path / "out", "uint8")
    assert "--quantize_uint8=*" in cmd and cmd[-2:] == [str(tmp_path / "saved"), str(tmp_path / "out")]


def test_the_export_writes_what_the_page_learns_a_hand_with(trained_artifacts, mnist):
    """adapt.json is the model's last layer and its block; adapt.bin the converted model's features of MNIST
    training digits, per class, their block's values and their labels; all under the features' version
    (site_template/js/adapt.js)."""
    import keras

    from pipeline.data.mnist import to_model_input
    from pipeline.contract import NOT_A_DIGIT, NUM_CLASSES
    from pipeline.export import features_version, replay_images, replay_picks

    tfjs = trained_artifacts / "tfjs"
    report, adapt, network = (json.loads((tfjs / name).read_text()) for name in ("export.json", "adapt.json", "network.json"))
    model = keras.saving.load_model(trained_artifacts / "model.keras", compile=False)
    weights, bias = model.layers[-1].get_weights()
    np.testing.assert_allclose(adapt["weights"], weights, atol=1e-6)
    np.testing.assert_allclose(adapt["bias"], bias, atol=1e-6)
    block = adapt["block"]
    assert adapt["features_version"] == report["features_version"] == features_version(model, block)
    assert features_version(model, {**block, "seed": block["seed"] + 1}) != features_version(model, block)
    assert json.loads((tfjs / "model.json").read_text())["signature"]["outputs"]["features"]["tensorShape"]["dim"][1]["size"] \
        == str(adapt["features"])
    last_pool = [layer for layer in network["layers"] if layer["kind"] == "pool"][-1]
    assert (block["node"], block["relu"], block["inputs"], block["directions"]) \
        == (last_pool["node"], last_pool["relu"], int(np.prod(last_pool["shape"])), ExportConfig().block_directions)

    count, width, per_class = adapt["replay"]["count"], adapt["features"], ExportConfig().replay_per_class
    directions = block["directions"]
    data = np.fromfile(tfjs / "adapt.bin", np.uint8)
    assert data.size == count * (width + directions + 1) and count == NUM_CLASSES * per_class  # each digit, then non-digits
    images, labels = replay_images(mnist, per_class)
    assert np.array_equal(data[count * (width + directions):], labels) and (labels == NOT_A_DIGIT).sum() == per_class
    assert np.array_equal(images[:-per_class], mnist.x_train[replay_picks(mnist.y_train, per_class)])
    replay = data[: count * width].reshape(count, width).astype(np.float32) * adapt["replay"]["scale"]
    keras_features = keras.Model(model.input, model.layers[-1].input).predict(to_model_input(images[::30]), verbose=0)
    assert np.abs(replay[::30] - keras_features).max() < 0.1 * keras_features.max(), "uint8 features of uint8 weights: near"
    logits = replay @ weights + bias
    assert (logits.argmax(1) == labels).mean() > 0.97, "the shipped head reads the replayed features"

    # The block: the last pool's values (Keras's here) times js/adapt.js's projection, times the factor that gives
    # it the features' mean length.
    projected = data[count * width: count * (width + directions)].view(np.int8).reshape(count, directions) * block["scale"]
    pool = keras.Model(model.input, model.get_layer(last_pool["name"]).output).predict(to_model_input(images[::30]), verbose=0)
    projection = js_projection(block["inputs"], directions, block["seed"])
    expected = pool.reshape(len(pool), -1) @ projection * block["factor"]
    assert np.abs(projected[::30] - expected).max() < 0.1 * np.abs(expected).max()
    lengths = [np.linalg.norm(x, axis=1).mean() for x in (replay, projected)]
    assert lengths[1] == pytest.approx(lengths[0], rel=0.02)


def js_projection(inputs: int, directions: int, seed: int) -> np.ndarray:
    """site_template/js/adapt.js's projection, as Node computes it: (inputs, directions)."""
    script = (f"const {{ projection }} = await import('{(ROOT / 'site_template/js/adapt.js').as_uri()}');"
              f"process.stdout.write(Buffer.from(projection({inputs}, {directions}, {seed}).buffer));")
    out = subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, check=True).stdout
    return np.frombuffer(out, "<f4").reshape(inputs, directions)


def test_the_features_version_follows_every_weight_but_the_last_layers():
    from pipeline.config import ModelConfig
    from pipeline.export import features_version
    from pipeline.train.model import build_model

    model = build_model(ModelConfig(filters=(2, 2, 2), dense_units=4))
    before = features_version(model)
    head = model.layers[-1]
    head.set_weights([w + 1 for w in head.get_weights()])
    assert features_version(model) == before, "a new head reads the same features"
    first = model.get_layer("c1_conv")
    first.set_weights([w + 1 for w in first.get_weights()])
    assert features_version(model) != before


def test_the_export_writes_the_network_views_layers_nodes_and_digits(trained_artifacts, mnist):
    """network.json names, for each layer the view shows, a node of the converted graph; network.png holds the MNIST
    test digits it names, tile by tile; together small enough for the view's budget."""
    from PIL import Image

    from pipeline import artifacts
    from pipeline.network import MATCH_TOLERANCE

    tfjs = trained_artifacts / "tfjs"
    view = json.loads((tfjs / artifacts.NETWORK_JSON).read_text())
    report = json.loads((tfjs / artifacts.REPORT_FILE).read_text())
    nodes = {node["name"] for node in json.loads((tfjs / "model.json").read_text())["modelTopology"]["node"]}
    assert all(layer["node"] in nodes for layer in view["layers"])
    assert report["network_layers"] == len(view["layers"]) and report["network_match_error"] <= MATCH_TOLERANCE
    digits = view["digits"]
    sheet = np.asarray(Image.open(tfjs / artifacts.NETWORK_PNG))
    tile, columns = digits["tile"], digits["columns"]
    for i in (0, digits["count"] // 2, digits["count"] - 1):
        r, c = divmod(i, columns)
        assert np.array_equal(sheet[r * tile:(r + 1) * tile, c * tile:(c + 1) * tile], mnist.x_test[digits["test_indices"][i]])
    for layer in view["layers"]:
        if layer["kind"] in ("conv", "dense"):
            assert len(layer["top"]) == layer["shape"][-1] and {len(t) for t in layer["top"]} == {view["top"]}
    assert sum((tfjs / name).stat().st_size for name in (artifacts.NETWORK_JSON, artifacts.NETWORK_PNG)) < 250_000
