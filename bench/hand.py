"""Record a figure measured by hand (no bench module behind it) as a results file, in results_file's schema.

    python -m bench.hand fresh-clone --title "The README's two commands from a fresh clone" \\
        --measured-with "make test; make train export build" --machine "2-core Intel Xeon, quiet" \\
        --date 2026-12-02 --column measure --column "wall time" --row '["make test", "6 min 25 s"]'

writes bench/results/fresh-clone.json, which `make bench-report` renders like any other result. `--measured-with`
is the command that produced the figures (what a reader runs to measure them again), `--machine` and `--date` where
and when it ran; each `--row` is a JSON array with one cell (string, number or null) per `--column`.
"""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import click

from bench.results_file import RESULTS, save_result

RECORDED = "by hand (python -m bench.hand)"  # the machine field that tells a hand record from a bench's


def parse_row(text: str, columns: tuple[str, ...]) -> list:
    """One --row: a JSON array of len(columns) cells, each a string, a number or null; BadParameter otherwise."""
    try:
        row = json.loads(text)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"not a JSON array ({err.msg}): {text!r}", param_hint="--row") from None
    if not isinstance(row, list) or len(row) != len(columns):
        raise click.BadParameter(f"should be a JSON array of {len(columns)} cells, one per --column: {text!r}",
                                 param_hint="--row")
    if not all(cell is None or isinstance(cell, (str, int, float)) and not isinstance(cell, bool) for cell in row):
        raise click.BadParameter(f"cells must be strings, numbers or null: {text!r}", param_hint="--row")
    return row


def parse_date(ctx, param, value: str) -> str:
    """--date as YYYY-MM-DD."""
    try:
        return datetime.date.fromisoformat(value).isoformat()
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)") from None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("name")
@click.option("--title", required=True, help="The section's heading in BENCHMARKS.md.")
@click.option("--measured-with", "command", required=True, help="The command that produced the figures.")
@click.option("--machine", required=True, help="Where it ran, in words: CPU, cores, GPU, how busy.")
@click.option("--accelerator", default="none", show_default=True, help="The GPU or other accelerator, if any.")
@click.option("--date", required=True, callback=parse_date, help="When it ran (YYYY-MM-DD).")
@click.option("--column", "columns", multiple=True, required=True, help="A column heading; repeat for each column.")
@click.option("--row", "rows", multiple=True, required=True, help="A JSON array of cells, one per --column; repeat.")
@click.option("--notes", default="", help="One short paragraph shown under the table.")
@click.option("--results", "results_dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="Folder of result files.")
def main(name, title, command, machine, accelerator, date, columns, rows, notes, results_dir):
    """Write RESULTS/NAME.json from figures measured by hand."""
    if not name.replace("-", "").replace("_", "").isalnum():
        raise click.BadParameter(f"{name!r}: letters, digits, - and _ only", param_hint="NAME")
    path = save_result(name, title=title, command=command, columns=list(columns),
                       rows=[parse_row(row, columns) for row in rows], notes=notes, results_dir=results_dir,
                       measured_at=date, machine={"cpu": machine, "accelerator": accelerator, "recorded": RECORDED})
    click.echo(f"hand: {len(rows)} rows -> {path}")


if __name__ == "__main__":
    main()
