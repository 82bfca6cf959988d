"""Calibration: probabilities that mean what they say, and the measure of how well they do.

A network trained to a low loss is over- (or under-) confident: its "99 %" is not
right 99 times in 100. Temperature scaling (Guo et al., "On Calibration of Modern
Neural Networks", 2017) divides the logits by one number T, fitted on held-out
images to minimise the negative log-likelihood. It changes no argmax, so accuracy
and the page's parity with Keras stay exactly as they are.

The classifier ends in a softmax, so its logits are recovered as log p (up to a
constant per image, which softmax ignores), and dividing the logits by T is the
same as dividing the last layer's weights and bias by T: training folds the
fitted T into the model it writes (`pipeline.train.loop.calibrate`), and every
reader of model.keras or the tfjs model (evaluate, predict, the page) gets
calibrated probabilities with no extra step.

Prior: the model learns how often a drawing is not a digit from its training
mix (`--nondigits`, about one image in nine), and its probabilities answer for
that mix. Someone at the page draws digits far more often than that, so training
then moves "not a digit" to the share the page expects (TrainConfig.nondigit_prior)
by Bayes' rule for a change of prior (Saerens et al., "Adjusting the Outputs of
a Classifier to New a Priori Probabilities", 2002): its odds against the digits
are multiplied by (expected odds) / (trained odds), the digits' odds among
themselves are untouched. On the logits that is one number added to that class's
bias (`prior_shift`), folded into the model like T.

Doubt: with calibrated probabilities, a top probability below DOUBT_BELOW
(pipeline/contract.py) means the model would be wrong as often as right, so no
digit is named ("?"); `judge` and `doubt_sentence` are the page's
site_template/js/doubt.js, for `pipeline predict`.

Expected calibration error (ECE): the top probabilities put into BINS equal-width
bins; the gap between each bin's mean confidence and its accuracy, weighted by
the share of images in it.
"""

from __future__ import annotations

import numpy as np

from pipeline.contract import DOUBT_BELOW, LABELS, NOT_A_DIGIT, NUM_DIGITS, TORN_ABOVE

BINS = 15  # ECE's bins (Guo et al.)
TEMPERATURE_RANGE = (0.05, 20.0)  # the search interval for T


def scaled(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    """softmax(log p / T) row by row: (N, K) probabilities with the temperature applied."""
    return np.exp(_scaled_log(probabilities, temperature))


def _scaled_log(probabilities: np.ndarray, temperature: float) -> np.ndarray:
    logits = np.log(np.clip(np.asarray(probabilities, np.float64), 1e-30, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)  # log-softmax, stable
    return logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))


def negative_log_likelihood(probabilities: np.ndarray, labels: np.ndarray, temperature: float = 1.0) -> float:
    """Mean −log p(true label) after scaling by `temperature`."""
    log_p = _scaled_log(probabilities, temperature)
    return float(-log_p[np.arange(len(labels)), np.asarray(labels, np.int64)].mean())


def fit_temperature(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """The T in TEMPERATURE_RANGE that minimises the NLL of `labels` under scaled(probabilities, T).
    The NLL is convex in 1/T, so a bounded scalar search over log T finds the optimum."""
    from scipy.optimize import minimize_scalar  # here: SciPy takes half a second to import, predict never needs it

    low, high = np.log(TEMPERATURE_RANGE)
    best = minimize_scalar(lambda log_t: negative_log_likelihood(probabilities, labels, float(np.exp(log_t))),
                           bounds=(low, high), method="bounded", options={"xatol": 1e-4})
    return float(np.exp(best.x))


def prior_shift(trained: float, expected: float) -> float:
    """What to add to the not-a-digit logit to move that class's prior from `trained` (its share of the
    training images) to `expected`: the difference of their log-odds. Both strictly between 0 and 1."""
    if not (0 < trained < 1 and 0 < expected < 1):
        raise ValueError(f"priors must lie strictly between 0 and 1, got {trained} and {expected}")
    return float(np.log(expected / (1 - expected)) - np.log(trained / (1 - trained)))


def with_prior_shift(probabilities: np.ndarray, shift: float) -> np.ndarray:
    """(N, 11) probabilities with `shift` added to the not-a-digit logit (see prior_shift)."""
    moved = np.asarray(probabilities, np.float64).copy()
    moved[:, NOT_A_DIGIT] *= np.exp(shift)
    return moved / moved.sum(axis=1, keepdims=True)


def reliability(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> list[dict]:
    """One row per non-empty bin of the top probability: {"low", "high", "images", "confidence"
    (mean top probability), "accuracy" (fraction whose top class is the label)}."""
    confidence = probabilities.max(1)
    correct = probabilities.argmax(1) == np.asarray(labels)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.searchsorted(edges, confidence, side="left") - 1, 0, bins - 1)  # (low, high]; 0 goes to the first
    rows = []
    for b in range(bins):
        inside = which == b
        if inside.any():
            rows.append({"low": float(edges[b]), "high": float(edges[b + 1]), "images": int(inside.sum()),
                         "confidence": float(confidence[inside].mean()), "accuracy": float(correct[inside].mean())})
    return rows


def expected_calibration_error(probabilities: np.ndarray, labels: np.ndarray, bins: int = BINS) -> float:
    """Σ over bins of (images in bin / N) · |accuracy − mean confidence|, 0 (perfect) to 1."""
    rows = reliability(probabilities, labels, bins)
    total = sum(row["images"] for row in rows)
    return float(sum(row["images"] / total * abs(row["accuracy"] - row["confidence"]) for row in rows))


def shown_digits(probabilities: np.ndarray) -> np.ndarray:
    """What the page shows for each row of (N, 10 or 11) probabilities (its doubt.js rule, which `judge`
    applies to one drawing): the digit (0-9), or -1 for "?"."""
    probabilities = np.asarray(probabilities)
    digits = probabilities[:, :NUM_DIGITS]
    not_a_digit = probabilities[:, NOT_A_DIGIT] if probabilities.shape[1] > NUM_DIGITS else 0.0
    top = digits.max(1)
    return np.where((top >= DOUBT_BELOW) & (top > not_a_digit), digits.argmax(1), -1)


def judge(probabilities) -> dict:
    """{"shown": the digit or "?", "sure": bool, "between": the two likeliest digits when it is torn
    between them (top two ≥ TORN_ABOVE together), else []} for one drawing's probabilities: the ten
    digits', then (when the model has it) not-a-digit's, which shows "?" whenever it beats every digit."""
    probabilities = np.asarray(probabilities)
    shown = shown_digits(probabilities[None])[0]
    if shown >= 0:
        return {"shown": LABELS[shown], "sure": True, "between": []}
    digits = probabilities[:NUM_DIGITS]
    first, second = np.argsort(-digits, kind="stable")[:2]
    torn = digits[first] + digits[second] >= TORN_ABOVE
    return {"shown": "?", "sure": False, "between": [LABELS[first], LABELS[second]] if torn else []}


def doubt_sentence(verdicts: list[dict]) -> str:
    """What is doubtful in a reading (left to right verdicts of `judge`), or "" when every digit is sure."""
    doubtful = [(index, v) for index, v in enumerate(verdicts) if not v["sure"]]
    if not doubtful:
        return ""

    def what(verdict: dict) -> str:
        return f"{verdict['between'][0]} or {verdict['between'][1]}?" if verdict["between"] else "not a digit?"
    if len(verdicts) == 1:
        return what(doubtful[0][1]) if doubtful[0][1]["between"] else "That does not look like a digit."
    return "; ".join(f"digit {index + 1}: {what(v)}" for index, v in doubtful)
