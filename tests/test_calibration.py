"""Temperature scaling and the calibration error (pipeline/calibration.py), on synthetic predictions
whose true calibration is known."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline import calibration


def honest_predictions(n: int, classes: int = 10, seed: int = 0, sharpness: float = 3.0):
    """(probabilities, labels): labels drawn from the probabilities themselves, so they are calibrated."""
    rng = np.random.default_rng(seed)
    logits = rng.normal(0, sharpness, (n, classes))
    probabilities = np.exp(logits - logits.max(1, keepdims=True))
    probabilities /= probabilities.sum(1, keepdims=True)
    labels = (probabilities.cumsum(1) < rng.random((n, 1))).sum(1).clip(0, classes - 1)
    return probabilities, labels


def test_a_worked_example():
    probabilities = np.array([[0.95, 0.05], [0.95, 0.05], [0.65, 0.35]])
    labels = np.array([0, 1, 0])
    rows = calibration.reliability(probabilities, labels)
    assert [(row["images"], row["confidence"], row["accuracy"]) for row in rows] == [(1, 0.65, 1.0), (2, 0.95, 0.5)]
    assert rows[0]["low"] < 0.65 <= rows[0]["high"] and rows[1]["high"] == 1.0
    assert calibration.expected_calibration_error(probabilities, labels) == pytest.approx(1 / 3 * 0.35 + 2 / 3 * 0.45)


def test_honest_predictions_have_a_small_error_and_temperature_one():
    probabilities, labels = honest_predictions(40_000)
    assert calibration.expected_calibration_error(probabilities, labels) < 0.01
    assert calibration.fit_temperature(probabilities, labels) == pytest.approx(1.0, abs=0.03)


@pytest.mark.parametrize("true_temperature", [0.5, 3.0])
def test_an_over_or_under_confident_model_is_found_out_and_fixed(true_temperature):
    honest, labels = honest_predictions(40_000, seed=1)
    # the model reports softmax(logits / T0): over-confident for T0 < 1, under-confident for T0 > 1
    reported = calibration.scaled(honest, true_temperature)
    before = calibration.expected_calibration_error(reported, labels)
    temperature = calibration.fit_temperature(reported, labels)
    after = calibration.scaled(reported, temperature)
    assert temperature == pytest.approx(1 / true_temperature, rel=0.05)
    assert before > 0.05 and calibration.expected_calibration_error(after, labels) < 0.01
    assert calibration.negative_log_likelihood(after, labels) < calibration.negative_log_likelihood(reported, labels)


def test_scaling_changes_no_answer():
    probabilities, _ = honest_predictions(1000, seed=2)
    for temperature in (0.1, 0.7, 1.0, 4.0):
        scaled = calibration.scaled(probabilities, temperature)
        assert np.array_equal(scaled.argmax(1), probabilities.argmax(1))
        assert np.allclose(scaled.sum(1), 1.0)
    assert np.allclose(calibration.scaled(probabilities, 1.0), probabilities)


def test_a_saturated_probability_is_finite():
    probabilities = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0]])
    scaled = calibration.scaled(probabilities, 2.0)
    assert np.isfinite(scaled).all() and np.array_equal(scaled.argmax(1), [0, 1])


def test_predict_judges_doubt_as_the_page_does():
    """pipeline.calibration.judge/doubt_sentence and the page's doubt.js, on the same probabilities."""
    import json
    import shutil
    import subprocess

    from pipeline.contract import DOUBT_BELOW, LABELS, TORN_ABOVE
    from tests.helpers import ROOT

    if shutil.which("node") is None:
        pytest.skip("needs Node.js")
    rng = np.random.default_rng(3)
    readings = [honest_predictions(n, seed=s, sharpness=sharp)[0].round(6).tolist()
                for s, (n, sharp) in enumerate([(1, 3.0), (3, 0.5), (2, 1.0), (4, 0.8)])]
    readings += [[[0.45, 0.45, 0.1] + [0.0] * 7], [[0.5, 0.5] + [0.0] * 8], [[0.1] * 10]]
    # with the model's 11th output, not a digit: it wins, loses, ties, or leaves two digits torn
    readings += [[[0.3, 0.1] + [0.0] * 8 + [0.6], [0.55] + [0.0] * 9 + [0.45]], [[0.5] + [0.0] * 9 + [0.5]],
                 [[0.4, 0.4] + [0.0] * 8 + [0.2], [0.0] * 10 + [1.0]]]
    rng.shuffle(readings)
    script = f"""
      import {{ doubtSentence, judge }} from {json.dumps((ROOT / 'site_template/js/doubt.js').as_uri())};
      const readings = {json.dumps(readings)};
      const thresholds = {{ doubtBelow: {DOUBT_BELOW}, tornAbove: {TORN_ABOVE} }};
      const labels = {json.dumps(list(LABELS))};
      console.log(JSON.stringify(readings.map((digits) => {{
        const verdicts = digits.map((p) => judge(p, labels, thresholds));
        return {{ verdicts, sentence: doubtSentence(verdicts) }};
      }})));"""
    page = json.loads(subprocess.run(["node", "--input-type=module", "-e", script], capture_output=True, text=True,
                                     check=True).stdout)
    python = []
    for digits in readings:
        verdicts = [calibration.judge(np.array(p)) for p in digits]
        python.append({"verdicts": verdicts, "sentence": calibration.doubt_sentence(verdicts)})
    assert python == page
    assert any(not v["sure"] for r in python for v in r["verdicts"]) and any(r["sentence"] == "" for r in python)


def test_shown_digits_is_judge_for_many_rows_at_once():
    """evaluate's vectorised verdict names the digit judge (the page's rule) shows, -1 where it shows ?."""
    rows = [*honest_predictions(200, seed=5, sharpness=0.7)[0],
            [0.5, 0.5] + [0.0] * 8, [0.49, 0.02] + [0.0] * 8, [0.1] * 10]
    with_not_a_digit = [[0.5] + [0.0] * 9 + [0.5], [0.55] + [0.0] * 9 + [0.45], [0.3, 0.1] + [0.0] * 8 + [0.6],
                        [0.0] * 10 + [1.0], [0.0, 0.0, 0.0, 0.9] + [0.0] * 6 + [0.1]]
    for probabilities in (np.array(rows), np.array(with_not_a_digit)):
        expected = [-1 if v["shown"] == "?" else int(v["shown"]) for v in map(calibration.judge, probabilities)]
        assert calibration.shown_digits(probabilities).tolist() == expected
        assert -1 in expected and any(e >= 0 for e in expected)


def test_a_prior_shift_is_bayes_rule_for_the_new_prior():
    """Drawings made at the trained mix, re-labelled at the page's: the shifted probabilities are those
    of the page's mix (not-a-digit's odds scaled by the odds ratio, the digits' among themselves kept)."""
    rng = np.random.default_rng(7)
    # two kinds of drawing: x is a digit d with p(x | d) = like[d], or not a digit with p(x | not) = like[10]
    like = rng.random((500, 11))
    trained, expected = 0.2, 0.05
    at = lambda prior: np.concatenate([like[:, :10] * (1 - prior) / 10, like[:, 10:] * prior], 1)  # noqa: E731
    posterior = lambda prior: at(prior) / at(prior).sum(1, keepdims=True)  # noqa: E731
    shift = calibration.prior_shift(trained, expected)
    assert shift == pytest.approx(np.log(0.05 / 0.95) - np.log(0.2 / 0.8))
    moved = calibration.with_prior_shift(posterior(trained), shift)
    assert np.allclose(moved, posterior(expected))
    assert np.allclose(calibration.with_prior_shift(posterior(trained), 0.0), posterior(trained))
    digits_before, digits_after = posterior(trained)[:, :10], moved[:, :10]
    assert np.allclose(digits_before / digits_before.sum(1, keepdims=True), digits_after / digits_after.sum(1, keepdims=True))
    # a model's float32 output is moved in float64: the page's thresholds then see no float32 rounding
    assert calibration.with_prior_shift(posterior(trained).astype(np.float32), shift).dtype == np.float64


@pytest.mark.parametrize("priors", [(0.0, 0.05), (0.1, 1.0), (-0.1, 0.5), (1.0, 0.05), (1.5, 0.05), (0.1, 0.0)])
def test_a_prior_of_none_or_all_is_refused(priors):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        calibration.prior_shift(*priors)


def test_two_digits_tied_for_first_are_named_in_the_page_s_order():
    """The page's sort is stable, so of two digits equally likely the lower is named first; judge must agree.
    Every tie among the ten places is tried, on float32 (a model's output) and float64."""
    for dtype in (np.float32, np.float64):
        for low in range(10):
            for high in range(low + 1, 10):
                p = np.full(11, 0.0, dtype)
                p[[low, high]] = 0.4375
                p[10] = 0.125
                assert calibration.judge(p)["between"] == [str(low), str(high)], (dtype, low, high)


def test_labels_of_any_number_type_are_read_as_class_numbers():
    """Labels read from a CSV come as floats; the likelihood takes them as the class numbers they are."""
    probabilities, labels = honest_predictions(500, seed=8)
    expected = calibration.negative_log_likelihood(probabilities, labels)
    assert calibration.negative_log_likelihood(probabilities, labels.astype(np.float64)) == expected
    assert calibration.negative_log_likelihood(probabilities, labels.tolist()) == expected


def test_a_bin_holds_the_confidences_above_its_low_edge_up_to_its_high_edge():
    """Bins are (low, high], BINS of them, of equal width: a top probability of exactly 1/2 is in the first of
    two bins; 0.65 in the tenth of fifteen, (9/15, 10/15]."""
    rows = calibration.reliability(np.array([[0.5, 0.5], [0.9, 0.1], [0.4, 0.6]]), np.array([0, 0, 1]), bins=2)
    assert [(row["low"], row["high"], row["images"]) for row in rows] == [(0.0, 0.5, 1), (0.5, 1.0, 2)]
    (row,) = calibration.reliability(np.array([[0.65, 0.35]]), np.array([0]))
    assert (row["low"], row["high"]) == pytest.approx((9 / calibration.BINS, 10 / calibration.BINS))


def test_fitting_the_temperature_warns_of_nothing():
    """Training prints what fit_temperature does; a solver's warning (an option it does not know) would be noise."""
    import warnings

    probabilities, labels = honest_predictions(2000, seed=9)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert calibration.fit_temperature(probabilities, labels) == pytest.approx(1.0, abs=0.1)


def test_a_temperature_above_one_softens_and_below_one_sharpens():
    """softmax(log p / T) worked by hand: T = 2 takes the square root of each probability, T = 1/2 squares it.
    (Fitting alone cannot tell: it would find 1/T for a scaling that multiplied by T.)"""
    assert calibration.scaled(np.array([[0.8, 0.2]]), 2.0) == pytest.approx(np.array([[2 / 3, 1 / 3]]))
    assert calibration.scaled(np.array([[0.8, 0.2]]), 0.5) == pytest.approx(np.array([[16 / 17, 1 / 17]]))


def test_a_model_s_float32_output_is_scaled_in_float64():
    probabilities, _ = honest_predictions(10, seed=10)
    assert calibration.scaled(probabilities.astype(np.float32), 2.0).dtype == np.float64


def test_a_certain_wrong_answer_costs_a_finite_likelihood():
    """A probability of exactly 0 for the true label is read as 1e-30: the likelihood, and the fit, stay finite."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's divide-by-zero in log(0)
        nll = calibration.negative_log_likelihood(np.array([[1.0, 0.0], [0.3, 0.7]]), np.array([1, 1]))
    assert np.isfinite(nll) and nll == pytest.approx((-np.log(1e-30) - np.log(0.7)) / 2)


def test_scaling_is_stable_at_any_temperature_row_by_row():
    """Each row is shifted by its own largest logit before exp: a very low temperature, and rows whose largest
    probabilities are far apart, neither underflow to 0 nor turn into NaN."""
    probabilities = np.array([[0.5, 0.5] + [0.0] * 8, [0.1] * 10, [0.1] * 9 + [0.1 + 1e-9]])
    scaled = calibration.scaled(probabilities, 0.002)
    assert np.isfinite(scaled).all() and np.allclose(scaled.sum(1), 1.0)
    assert scaled[0, :2] == pytest.approx([0.5, 0.5]) and scaled[1] == pytest.approx([0.1] * 10)
