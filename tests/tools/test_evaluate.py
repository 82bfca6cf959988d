"""`pipeline evaluate`: the figures computed by hand on a tiny case, and the CLI on the session model."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from pipeline.cli import main
from pipeline.contract import NOT_A_DIGIT, NUM_CLASSES
from pipeline.tools.evaluate import summarize, to_text


def one_hot(predicted, confidence=0.9):
    p = np.full((len(predicted), NUM_CLASSES), (1 - confidence) / (NUM_CLASSES - 1))
    p[np.arange(len(predicted)), predicted] = confidence
    return p


def test_precision_recall_f1_and_matrix_by_hand():
    y_true = np.array([0, 0, 0, 1, 1, 2])
    y_pred = np.array([0, 0, 1, 1, 2, 2])
    result = summarize(y_true, one_hot(y_pred))
    assert result["accuracy"] == pytest.approx(4 / 6)
    assert result["loss"] == pytest.approx(-(4 * np.log(0.9) + 2 * np.log(0.1 / 10)) / 6)
    zero, one, two = result["per_class"][:3]
    assert (zero["precision"], zero["recall"], zero["support"]) == (1.0, pytest.approx(2 / 3), 3)
    assert zero["f1"] == pytest.approx(2 * 1 * (2 / 3) / (1 + 2 / 3))
    assert (one["precision"], one["recall"], one["f1"]) == (0.5, 0.5, 0.5)
    assert (two["precision"], two["recall"]) == (0.5, 1.0) and two["f1"] == pytest.approx(2 / 3)
    assert result["per_class"][7] == {"digit": "7", "precision": 0.0, "recall": 0.0, "f1": 0.0, "support": 0}
    matrix = np.array(result["confusion_matrix"])
    assert matrix[0, 0] == 2 and matrix[0, 1] == 1 and matrix[1, 2] == 1 and matrix.sum() == 6


def test_a_digit_read_as_not_a_digit_is_wrong_and_counted_in_the_last_column():
    result = summarize(np.array([4, 4, 4]), one_hot(np.array([4, 4, NOT_A_DIGIT])))
    assert result["accuracy"] == pytest.approx(2 / 3)
    matrix = np.array(result["confusion_matrix"])
    assert matrix.shape == (10, NUM_CLASSES) and matrix[4].tolist() == [0] * 4 + [2] + [0] * 5 + [1]
    assert (result["per_class"][4]["precision"], result["per_class"][4]["recall"]) == (1.0, pytest.approx(2 / 3))
    assert len(result["per_class"]) == 10


def test_the_ten_digits_alone_and_what_the_page_shows():
    """digit_accuracy: the likeliest of the ten digits, whatever "not a digit" says (the size budget's measure);
    shown_accuracy: the page names the right digit, so a ? is wrong (the doubt floor's); doubted: how often it shows ?."""
    y_true = np.array([1, 2, 3, 4])
    probabilities = np.zeros((4, NUM_CLASSES))
    probabilities[0, [1, 2]] = 0.8, 0.2  # sure and right
    probabilities[1, [2, NOT_A_DIGIT]] = 0.4, 0.6  # the likeliest digit is right, but "not a digit" wins
    probabilities[2, [3, 5, 6]] = 0.45, 0.35, 0.2  # right, yet too unsure to name: ?
    probabilities[3, [9, 4]] = 0.7, 0.3  # sure and wrong
    result = summarize(y_true, probabilities)
    assert (result["accuracy"], result["digit_accuracy"]) == (0.5, 0.75)
    assert (result["shown_accuracy"], result["doubted"]) == (0.25, 0.5)
    assert to_text(result).splitlines()[1] == ("the likeliest of the ten digits right: 75.00%; the page shows the "
                                               "right digit: 25.00% (shows ? for 50.00%)")


def test_text_report_is_a_readable_table():
    y_true = np.array([3, 3, 5, 8])
    text = to_text(summarize(y_true, one_hot(np.array([3, 5, 5, 8]))))
    lines = text.splitlines()
    assert lines[0].startswith("accuracy 75.0000%")
    assert "digit  precision  recall      F1  support" in lines
    three = next(line for line in lines if line.split()[:1] == ["3"] and len(line.split()) == 5)
    assert three.split() == ["3", "1.0000", "0.5000", "0.6667", "2"]
    start = lines.index(next(line for line in lines if line.startswith("true"))) + 1
    matrix_rows = lines[start : lines.index("", start)]
    assert len(matrix_rows) == 11  # ten digits and the column totals
    assert matrix_rows[3].split() == ["3", ".", ".", ".", "1", ".", "1", ".", ".", ".", ".", ".", "2"]  # the last: ?
    assert matrix_rows[-1].split()[-1] == "4"
    # every prediction is 90 % sure and 75 % right: one bin, a 15-point calibration error
    assert lines[-3] == "calibration error (ECE, 15 bins of the top probability): 15.00%"
    assert lines[-1].split() == ["86.7%", "-", "93.3%", "4", "90.0%", "75.0%"]


def test_cli_on_the_session_model(trained_artifacts):
    result = CliRunner().invoke(main, ["evaluate", "--artifacts", str(trained_artifacts), "--json"])
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    matrix = np.array(report["confusion_matrix"])
    assert matrix.shape == (10, NUM_CLASSES) and matrix.sum() == report["images"] == 10000
    assert report["accuracy"] == pytest.approx(np.trace(matrix) / 10000)
    # a digit the page shows is the argmax of all eleven; the eleven's argmax, if a digit, is the ten's
    assert report["shown_accuracy"] <= report["accuracy"] <= report["digit_accuracy"]
    assert report["shown_accuracy"] >= 1 - report["doubted"] - (1 - report["digit_accuracy"]) - 1e-9
    recorded = json.loads((trained_artifacts / "metrics.json").read_text())["test_accuracy"]
    assert report["accuracy"] == pytest.approx(recorded, abs=1e-3)  # the same model, the same 10,000 images
    assert [row["support"] for row in report["per_class"]] == matrix.sum(1).tolist()
    assert sum(row["images"] for row in report["reliability"]) == 10000
    assert 0 <= report["calibration_error"] < 0.02, "training calibrates the model it writes"


def test_cli_without_a_model_fails_in_one_line(tmp_path):
    result = CliRunner().invoke(main, ["evaluate", "--artifacts", str(tmp_path)])
    assert result.exit_code != 0
    assert len(result.output.strip().splitlines()) == 1 and "no trained model" in result.output
