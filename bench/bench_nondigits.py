"""Benchmark doubt on the built page: drawings that are no digit, and single digits, drawn with the mouse.

    python -m bench.bench_nondigits --dist dist      # -> bench/results/nondigits.json

Three sets, each drawing alone on the pad with the mouse in headless Chromium, a
third to most of the pad's height at a random place:
  held out    glyphs of the sources training never saw (`nondigits.HELD_OUT`, from
              pipeline/data/sources.py: Hershey's Cyrillic, and the whole symbols
              family), each redrawn by hand (`nondigits.strokes`): how often
              #prediction shows "?", per source and over all; the floors: 92 % over
              all, 85 % for each source
  trained     new samples (seeds training never used) of the sources training uses:
              the same figure, reported beside and labelled as such; no floor
  digits      MNIST *test* digits traced into strokes (`pipeline.data.handwriting`),
              the drawn-digit set of tests/browser/test_drawn_digits.py with
              another seed: read right, "?" counted wrong (floor 99 %), and answered "?"
"""

from __future__ import annotations

import shutil
from pathlib import Path

import click
import numpy as np

from bench.bench_numbers import draw
from bench.bench_page import BASE, CLEARED, Session, measure_site
from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from bench import placement
from pipeline.data import handwriting, nondigits, sources
from pipeline.data.mnist import load_mnist

NOT_A_DIGIT_FLOOR = 0.92  # drawings from held-out sources shown "?", all together
SOURCE_FLOOR = 0.85  # ... and from each held-out source
RIGHT_FLOOR, DOUBT_CEILING = 0.99, 0.01  # single drawn digits read right ("?" counted wrong), and answered "?"
SEED = 311  # the drawings' variation, sizes and places, and the test digits picked
MIN_FRACTION, MAX_FRACTION = 1 / 3, 0.85  # the drawing's longer side, fraction of the pad's height (as the test)


def shown_for(page, paths: list[np.ndarray], box) -> str:
    """Clear the pad, draw `paths` (pad pixels), and return #prediction once it reads every stroke."""
    page.click("#clear")
    page.wait_for_selector(CLEARED, state="attached")
    for path in paths:
        draw(page, path, box)
    return page.wait_for_selector(f'#prediction[data-strokes="{len(paths)}"]').text_content().strip()


def placed(unit_paths: list[np.ndarray], box, rng) -> list[np.ndarray]:
    """Unit-box strokes at a random size and place on the pad, in pad pixels, clear of its edges."""
    side = min(box["width"], box["height"])
    size = rng.uniform(MIN_FRACTION, MAX_FRACTION) * side
    margin = side / 32 + 2
    origin = rng.uniform(margin, side - size - margin, 2)
    return [np.asarray(p) * size + origin for p in unit_paths]


def draw_all(session: Session, mnist, per_source: int, per_trained: int, digits: int) -> dict:
    context = session.context()
    page = session.open(context)
    box = page.locator("#pad").bounding_box()
    rng = np.random.default_rng(SEED)
    others = []
    for names, count, group in ((nondigits.HELD_OUT, per_source, "held out"), (sources.TRAINED, per_trained, "trained")):
        for name in names:
            k = list(sources.SOURCES).index(name)
            for i in range(count):
                paths = placed(nondigits.strokes(name, SEED * 100_000 + k * 1000 + i), box, rng)
                others.append({"kind": name, "group": group, "shown": shown_for(page, paths, box)})
    drawn = []
    for index in placement.pick_digits(mnist.y_test, digits, SEED):
        strokes = handwriting.image_to_strokes(mnist.x_test[index])
        side = min(box["width"], box["height"])
        spot = placement.place(strokes, side, rng, MIN_FRACTION, MAX_FRACTION, margin=side / 32 + 2)
        drawn.append({"index": int(index), "true": str(mnist.y_test[index]), "shown": shown_for(page, spot.paths, box)})
    context.close()
    return {"others": others, "digits": drawn}


def _doubted(rows: list[dict]) -> tuple[str, float]:
    doubted = sum(r["shown"] == "?" for r in rows)
    return f"{doubted}/{len(rows)}", round(100 * doubted / max(len(rows), 1), 1)


def rows_of(results: dict) -> list[list]:
    rows = []
    held_out = [r for r in results["others"] if r.get("group", "held out") == "held out"]
    for name in nondigits.HELD_OUT:
        family = sources.SOURCES[name].family
        rows.append([f"non-digits never trained on: {name} ({family}), shown as ?",
                     *_doubted([r for r in held_out if r["kind"] == name]), f"≥ {SOURCE_FLOOR:.0%}"])
    rows.append(["all non-digits never trained on, shown as ?", *_doubted(held_out), f"≥ {NOT_A_DIGIT_FLOOR:.0%}"])
    trained = [r for r in results["others"] if r.get("group") == "trained"]
    for name in sources.TRAINED:
        mine = [r for r in trained if r["kind"] == name]
        if mine:
            rows.append([f"new samples of a trained source: {name} ({sources.SOURCES[name].family}), shown as ?",
                         *_doubted(mine), None])
    digits = results["digits"]
    right, doubted = sum(r["shown"] == r["true"] for r in digits), sum(r["shown"] == "?" for r in digits)
    rows.append(["MNIST test digits drawn alone, read right (? counted wrong)", f"{right}/{len(digits)}",
                 round(100 * right / max(len(digits), 1), 1), f"≥ {RIGHT_FLOOR:.0%}"])
    rows.append(["MNIST test digits drawn alone, answered ?", f"{doubted}/{len(digits)}",
                 round(100 * doubted / max(len(digits), 1), 1), f"≤ {DOUBT_CEILING:.0%}"])
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="Where nondigits.json goes.")
@click.option("--per-source", type=click.IntRange(min=1), default=150, show_default=True,
              help="Drawings of each non-digit source never trained on.")
@click.option("--per-trained", type=click.IntRange(min=0), default=10, show_default=True,
              help="Drawings of each trained non-digit source (new samples).")
@click.option("--digits", type=click.IntRange(min=10), default=200, show_default=True, help="MNIST test digits to draw.")
@click.option("--chromium", default=shutil.which("chromium"), show_default=True,
              help="Chromium executable; empty for Playwright's own.")
@command_option("bench.bench_nondigits")
def main(dist: Path, results_dir: Path, per_source: int, per_trained: int, digits: int, chromium: str,
         command_line: str | None):
    """Draw non-digits and single digits on the page with the mouse; write bench/results/nondigits.json."""
    mnist = load_mnist(log=lambda *_: None)
    results, machine = measure_site(dist, chromium, lambda session: draw_all(session, mnist, per_source, per_trained, digits))
    columns = ["measure", "n", "%", "floor"]
    rows = rows_of(results)
    read_as = sorted({f"{r['kind']}→{r['shown']}" for r in results["others"] if r["shown"] != "?"
                      and r["group"] == "held out"})
    misses = ", ".join(f"{r['true']}→{r['shown'] or '(none)'}" for r in results["digits"] if r["shown"] != r["true"])
    notes = (f"{dist} served on 127.0.0.1 under {BASE}, a 900×900 viewport. "
             f"{per_source} drawings of each source training never saw (pipeline/data/sources.py HELD_OUT: "
             f"{', '.join(nondigits.HELD_OUT)}), {per_trained} new drawings of each trained source (seed {SEED}), "
             f"and {digits} MNIST test digits traced into strokes, each alone, {MIN_FRACTION:.2f}-{MAX_FRACTION:.2f} of "
             f"the pad, drawn with the mouse. Held-out non-digits read as a digit: {', '.join(read_as) or 'none'}. "
             f"Digits not read right: {misses or 'none'}.")
    path = save_result("nondigits", title="Page: drawings that are not digits, and single digits, drawn with the mouse",
                       command=command_line, columns=columns, rows=rows, notes=notes, extra_machine=machine,
                       results_dir=results_dir)
    click.echo(f"\n{table(columns, rows)}\n\n{notes}\n\nwrote {path}")


if __name__ == "__main__":
    main()
