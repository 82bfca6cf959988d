"""BENCHMARKS.md is data rendered: every row from a results file with its command, and a file a reader can read.

The committed BENCHMARKS.md is checked against the committed bench/results/ as
`make bench-report` writes it, byte for byte; its size, its cells and report.py
are held to their limits; bench.hand, which records a figure measured by hand,
is driven through its CLI. No figure is asserted here: the figures are data.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bench import hand, report
from tests.helpers import ROOT

BENCHMARKS = ROOT / "BENCHMARKS.md"
MAX_BYTES = 25_000  # BENCHMARKS.md, so that a reader can read all of it
MAX_CELL = 400  # characters in one table cell: a figure and what it measures, not a log
MAX_REPORT_LINES = 250  # bench/report.py renders; it holds no figures


def sections(text: str) -> dict[str, str]:
    """'## Title' -> the section's text, for every section of a rendered BENCHMARKS.md."""
    parts = re.split(r"^## ", text, flags=re.M)[1:]
    return {part.split("\n", 1)[0]: part for part in parts}


def table_rows(section: str) -> list[list[str]]:
    """The body rows of the section's Markdown table, as cells (header and rule left out)."""
    lines = [line for line in section.splitlines() if line.startswith("| ")]
    return [re.split(r"(?<!\\) \| ", line[2:-2]) for line in lines[2:]]


def test_make_bench_report_rewrites_the_committed_benchmarks_md_byte_for_byte(tmp_path):
    recipe = re.search(r"^bench-report:.*\n\t(.+)$", (ROOT / "Makefile").read_text(), flags=re.M).group(1)
    assert recipe.strip() == "$(BIN)/python -m bench.report"  # what make bench-report runs, run here the same way
    out = tmp_path / "BENCHMARKS.md"
    subprocess.run([sys.executable, "-m", "bench.report", "--out", str(out)], cwd=ROOT, check=True,
                   capture_output=True, timeout=60)
    assert out.read_bytes() == BENCHMARKS.read_bytes(), "BENCHMARKS.md is stale or edited by hand: make bench-report"


def test_benchmarks_md_and_report_py_stay_within_their_limits():
    text = BENCHMARKS.read_text()
    assert len(text.encode()) <= MAX_BYTES
    cells = [cell for section in sections(text).values() for row in table_rows(section) for cell in row]
    assert cells, "no table rows found: the parser no longer matches the report"
    longest = max(cells, key=len)
    assert len(longest) <= MAX_CELL, longest[:120]
    assert len((ROOT / "bench" / "report.py").read_text().splitlines()) <= MAX_REPORT_LINES


def test_every_row_of_benchmarks_md_names_its_results_file_and_command():
    tables = {title: body for title, body in sections(BENCHMARKS.read_text()).items() if table_rows(body)}
    assert tables
    for title, body in tables.items():
        named = re.search(r"^- Results: `(bench/results/[\w-]+\.json)`$", body, flags=re.M)
        assert named, f"{title}: no results file named"
        record = json.loads((ROOT / named.group(1)).read_text())
        assert record["title"] == title
        assert len(table_rows(body)) == len(record["rows"]), f"{title}: a row that is not in {named.group(1)}"
        assert f"- Command: `{record['command']}`\n" in body and record["command"].strip(), title
        assert re.search(r"^- Measured: \d{4}-\d{2}-\d{2}", body, flags=re.M), title


def test_no_issue_numbers_in_benchmarks_md_or_the_benches():
    """A reader of the repository has no tracker: budgets are named by what they are."""
    texts = {BENCHMARKS: BENCHMARKS.read_text()}
    texts |= {path: path.read_text() for path in (ROOT / "bench").rglob("*.*") if path.suffix in (".py", ".json")}
    for path, text in texts.items():
        assert not re.search(r"\bissues? #?\d+", text, flags=re.I), path


# ------------------------------------------------------------ bench.hand


HAND_ARGS = ["--title", "By hand: a fresh clone", "--measured-with", "make test", "--machine", "2-core test box",
             "--date", "2026-12-02", "--column", "what", "--column", "wall time (s)"]


def test_a_hand_record_is_a_results_file_the_report_renders_with_its_command_machine_and_date(tmp_path):
    result = CliRunner().invoke(hand.main, ["fresh", *HAND_ARGS, "--row", '["make test", 385]',
                                            "--notes", "one run", "--results", str(tmp_path)])
    assert result.exit_code == 0, result.output
    [record] = report.load_results(tmp_path)  # the schema report.py checks
    assert record["machine"] == {"cpu": "2-core test box", "accelerator": "none", "recorded": hand.RECORDED}
    section = report.render_result(record)
    assert "| make test | 385 |" in section and "one run" in section
    assert "- Results: `bench/results/fresh.json`" in section and "- Command: `make test`" in section
    assert "- Machine: 2-core test box; accelerator: none; recorded: by hand" in section
    assert "- Measured: 2026-12-02" in section


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (["--row", '["make test"]'], "JSON array of 2 cells"),
        (["--row", "make test, 385"], "not a JSON array"),
        (["--row", '["make test", {"s": 385}]'], "strings, numbers or null"),
        (["--row", '["make test", 385]', "--date", "2 Dec"], "not a date"),
    ],
)
def test_hand_refuses_a_bad_row_or_date_with_one_line_and_writes_nothing(tmp_path, change, problem):
    args = ["fresh", *HAND_ARGS, *change, "--results", str(tmp_path)]
    result = CliRunner().invoke(hand.main, args)
    assert result.exit_code == 2
    error = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(error) == 1 and problem in error[0], result.output
    assert not list(tmp_path.iterdir())
