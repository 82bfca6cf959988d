"""bench/mutation.py's bookkeeping: the score, the equivalent mutants read from docs/testing.md, and the modules
and tests it names (the mutation runs themselves are `make mutation`, not part of the suite)."""

from __future__ import annotations

import json
from pathlib import Path

from bench import mutation
from tests.helpers import ROOT


def test_the_score_counts_timeouts_as_caught_and_leaves_equivalent_mutants_out():
    statuses = {"a": "killed", "b": "killed", "c": "timeout", "d": "survived", "e": "survived", "f": "no tests"}
    row = mutation.row("m.py", statuses, {"e": "the same value either way"})
    assert dict(zip(mutation.FIELDS, row)) == {
        "module": "m.py", "mutants": 5, "killed": 2, "timed out": 1, "survived": 1, "equivalent": 1,
        "score (%)": 75.0, "survivors": "d"}


def test_equivalent_mutants_are_read_from_their_section_only(tmp_path):
    doc = tmp_path / "testing.md"
    doc.write_text("## Tests\n- `x`: not this one\n\n## Equivalent mutants\n\n- `pipeline.a.x_f__mutmut_3`: why\n"
                   "- `site_template/js/d.js:27:16 EqualityOperator → >`: why not\n\n## Later\n- `y`: nor this\n")
    assert mutation.equivalent_ids(doc) == {"pipeline.a.x_f__mutmut_3": "why",
                                            "site_template/js/d.js:27:16 EqualityOperator → >": "why not"}


def test_a_stryker_mutant_is_named_by_place_mutator_and_replacement():
    mutant = {"mutatorName": "EqualityOperator", "replacement": "a >\n  b", "location": {"start": {"line": 27, "column": 16}}}
    assert mutation.stryker_id("site_template/js/doubt.js", mutant) == "site_template/js/doubt.js:27:16 EqualityOperator → a > b"


def test_rows_of_an_only_run_replace_those_of_the_last_full_run():
    previous = [["pipeline/preprocess.py", 1], ["site_template/js/doubt.js", 2], ["gone.py", 3]]
    assert mutation.merged([["site_template/js/doubt.js", 4]], previous) == [["pipeline/preprocess.py", 1],
                                                                            ["site_template/js/doubt.js", 4]]


def test_the_table_is_saved_apart_from_its_survivors_and_read_back_whole(tmp_path):
    rows = [["pipeline/preprocess.py", 3, 2, 0, 1, 0, 66.7, "p.x_f__mutmut_1"], ["site_template/js/doubt.js", 2, 2, 0, 0, 0, 100.0, "–"],
            ["site_template/js/adapt.js", 5, 3, 0, 2, 0, 60.0, "a.js:1:2 X → y; a.js:3:4 Z → w"]]
    survivors = tmp_path / "survivors.txt"
    path = mutation.save_rows(rows, "make mutation", survivors=survivors, results_dir=tmp_path)
    assert json.loads(path.read_text())["rows"] == [r[:7] for r in rows]
    assert survivors.read_text().splitlines() == ["pipeline/preprocess.py\tp.x_f__mutmut_1",
                                                  "site_template/js/adapt.js\ta.js:1:2 X → y", "site_template/js/adapt.js\ta.js:3:4 Z → w"]
    assert mutation.load_rows(path, survivors) == rows
    assert "one run" not in json.loads(path.read_text())["notes"]
    timed = mutation.save_rows(rows, "make mutation", survivors=survivors, took=1097.4, results_dir=tmp_path)
    assert json.loads(timed.read_text())["notes"].endswith("Every module in one run: 18 min 17 s.")


def test_every_module_and_test_file_named_exists():
    for module in [*mutation.PYTHON_MODULES, *mutation.JS_MODULES]:
        assert (ROOT / module.split(" ")[0]).is_file(), module
    for tests in mutation.JS_MODULES.values():
        assert all((ROOT / Path(test)).is_file() for test in tests), tests
    assert isinstance(mutation.equivalent_ids(), dict)


def test_rescoring_moves_newly_listed_equivalent_survivors_out_of_the_score():
    old = ["m.py", 10, 7, 1, 2, 0, 80.0, "a; b"]
    assert mutation.rescored(old, {"b": "why"}) == ["m.py", 10, 7, 1, 1, 1, round(800 / 9, 1), "a"]
    assert mutation.rescored(old, {}) == old
    assert mutation.rescored(["m.py", 3, 3, 0, 0, 0, 100.0, "–"], {"b": "why"}) == ["m.py", 3, 3, 0, 0, 0, 100.0, "–"]


def test_a_listed_stryker_mutant_is_found_on_another_line_when_its_place_is_otherwise_unique():
    equivalent = {"s.js:10:9 EqualityOperator → x <= left": "a tie", "s.js:20:5 EqualityOperator → c <= C": "past the end"}
    statuses = {"s.js:14:9 EqualityOperator → x <= left": "survived",  # four lines added above it
                "s.js:30:5 EqualityOperator → c <= C": "survived", "s.js:40:5 EqualityOperator → c <= C": "survived",
                "s.js:50:9 EqualityOperator → y <= top": "survived"}
    row = dict(zip(mutation.FIELDS, mutation.row("s.js", statuses, equivalent)))
    assert row["equivalent"] == 1  # the two `c <= C` at column 5 are ambiguous: neither is taken for the listed one
    assert row["survivors"] == "s.js:30:5 EqualityOperator → c <= C; s.js:40:5 EqualityOperator → c <= C; " \
                               "s.js:50:9 EqualityOperator → y <= top"


def test_one_mutmut_run_is_dealt_to_the_modules_by_their_globs():
    names = ["pipeline.train.loop.x_calibrate__mutmut_3", "pipeline.train.loop.x_fit__mutmut_1",
             "pipeline.preprocess.x_to_mnist__mutmut_12", "pipeline.build.webapp.x_cache_groups__mutmut_1",
             "pipeline.build.webapp.x_module_graph__mutmut_2", "pipeline.tools.predict.xǁReaderǁread__mutmut_4"]
    dealt = {m: [n for n in names if mutation.matches(n, globs)] for m, globs in mutation.PYTHON_MODULES.items()}
    assert dealt["pipeline/train/loop.py (calibrate)"] == ["pipeline.train.loop.x_calibrate__mutmut_3"]
    assert dealt["pipeline/preprocess.py"] == ["pipeline.preprocess.x_to_mnist__mutmut_12"]
    assert dealt["pipeline/build/webapp.py (cache_groups)"] == ["pipeline.build.webapp.x_cache_groups__mutmut_1"]
    assert dealt["pipeline/tools/predict.py"] == ["pipeline.tools.predict.xǁReaderǁread__mutmut_4"]
    assert sum(map(len, dealt.values())) == 4  # none in two rows; the functions no module names in none
