"""bench/search_personal.py: scoring recipes on the tuning writers ("?" counted wrong) and the rule that picks one."""

from __future__ import annotations

from bench import search_personal
from bench.numerals import HELD_OUT, TUNING


def probabilities(digit: int, top: float) -> list[float]:
    row = [(1 - top) / 10] * 11
    row[digit] = top
    return row


def test_fresh_numerals_shown_as_doubtful_count_wrong_and_the_drop_is_the_largest():
    sure, doubtful, wrong = probabilities(2, 0.9), probabilities(2, 0.4), probabilities(3, 0.9)
    out = {"shipped_mnist": 0.995, "results": [{"recipe": search_personal.SHIPPED, "writers": [
        {"fresh": [sure, sure, doubtful, wrong], "mnist": 0.994, "learn_ms": 900.0},
        {"fresh": [sure, sure, sure, sure], "mnist": 0.991, "learn_ms": 1200.0}]}]}
    [row] = search_personal.scored(out, [[2, 2, 2, 2], [2, 2, 2, 2]])
    assert row["each"] == [0.5, 1.0] and row["worst"] == 0.5 and row["mean"] == 0.75
    assert round(row["drop"], 6) == 0.004 and row["learn_ms"] == 1200.0


def test_the_rule_prefers_the_worst_writer_then_the_mean_then_the_drop_within_the_ceiling():
    row = lambda worst, mean, drop: {"worst": worst, "mean": mean, "drop": drop}  # noqa: E731
    steady, lucky, forgetful = row(0.96, 0.97, 0.002), row(0.93, 0.99, 0.001), row(0.99, 0.99, 0.004)
    assert search_personal.choose([steady, lucky, forgetful]) is steady
    assert search_personal.choose([row(0.96, 0.97, 0.002), tie := row(0.96, 0.97, 0.001)]) is tie
    assert search_personal.choose([forgetful]) is forgetful, "none within the ceiling: the best of them"


def test_the_search_reads_only_tuning_writers():
    writers, taught, fresh, labels = search_personal.writers_task([5])
    names = {w["name"].split(" (seed")[0] for w in writers}
    assert names == set(TUNING) and not names & set(HELD_OUT)
    assert len(taught) == sum(len(w["taught"]) for w in writers) and taught.shape[1:] == (28, 28)
    assert len(fresh) == sum(w["fresh"] for w in writers) == sum(map(len, labels))
