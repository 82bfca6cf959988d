"""Benchmark reading numbers on the built page: how many are read exactly, and how fast the last pen-up shows them.

    python -m bench.bench_numbers --dist dist        # -> bench/results/numbers.json

Numbers of 2-4 MNIST *test* digits (handwriting the model never trained on),
traced into strokes by `pipeline.data.handwriting` and written on the pad by
`placement.place_number` as a person writes (each digit a quarter to a half
of the pad's height, natural gaps, a drifting baseline, sizes varying by
±15 %), drawn with the mouse in headless Chromium. Measured:
  exact     whole number right (#prediction's text once data-strokes counts
            every stroke), per number length and overall; floor: EXACT_FLOOR
  pen-up    for numbers of 4 digits: the last stroke's pointerup (drawn once the
            reading of the others is shown) to #prediction's data-strokes update
            and to the next animation frame (bench_page's probe), median and
            p90; the ceiling is bench_page's PEN_UP_CEILING_MS
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import click
import numpy as np

from bench import mouse
from bench.bench_page import BASE, BATCH_PREDICT, CLEARED, PEN_UP_CEILING_MS, PEN_UP_PROBE, Session, measure_site, summary
from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from pipeline.calibration import shown_digits
from pipeline.contract import LABELS, PAD_PEN
from bench import placement
from pipeline.data import handwriting
from pipeline.data.mnist import load_mnist

EXACT_FLOOR = 0.95  # the floor of numbers read exactly
SEED = 110  # picks the test digits, the number lengths and their placement (the tests use others)
PEN_MARGIN = PAD_PEN  # margin from the pad's edges, fraction of its height: the page's pen width
MOUSE_STEP = 1 / 40  # distance between mouse events along a stroke, fraction of the pad's height


def write_numbers(session: Session, mnist, count: int) -> list[dict]:
    """Write `count` numbers on one page; per number: the digits, what was shown, and the last pen-up's timing."""
    context = session.context()
    page = session.open(context)
    page.evaluate(PEN_UP_PROBE)
    box = page.locator("#pad").bounding_box()
    rng = np.random.default_rng(SEED)
    lengths = rng.integers(2, 5, count)
    picks = iter(placement.pick_digits(mnist.y_test, int(lengths.sum()), SEED))
    results = []
    for length in lengths:
        indices = [int(next(picks)) for _ in range(length)]
        digits = [handwriting.image_to_strokes(mnist.x_test[i]) for i in indices]
        placed = placement.place_number(digits, box["width"], box["height"], rng, margin=box["height"] * PEN_MARGIN)
        paths = [path for digit in placed for path in digit.paths]
        page.click("#clear")
        page.wait_for_selector(CLEARED, state="attached")
        for path in paths[:-1]:
            draw(page, path, box)
        # Everything before the last stroke shown, so its pen-up is timed alone: one update, one frame.
        page.wait_for_selector(f'#prediction[data-strokes="{len(paths) - 1}"]', state="attached")
        # ... and the frame after that reading counted too, or the last stroke's frame count is one short
        frames = page.evaluate("window.__penUp.update.length")
        if frames:
            page.wait_for_selector(f'body[data-bench-frames="{frames}"]', state="attached")
        draw(page, paths[-1], box)
        page.wait_for_selector(f'body[data-bench-frames="{frames + 1}"]', state="attached")
        shown = page.wait_for_selector(f'#prediction[data-strokes="{len(paths)}"]').text_content()
        timing = page.evaluate("[window.__penUp.update.at(-1), window.__penUp.frame.at(-1)]")
        results.append({"true": "".join(str(mnist.y_test[i]) for i in indices), "shown": shown,
                        "update_ms": timing[0], "frame_ms": timing[1], "indices": indices})
    read_the_originals(page, mnist, results)
    context.close()
    return results


def misread_places(result: dict) -> list[int]:
    """The places of the digits a number was misread in, when it was read with the right count of digits."""
    true, shown = result["true"], result["shown"]
    return [k for k in range(len(true)) if shown[k] != true[k]] if len(shown) == len(true) else []


def read_the_originals(page, mnist, results: list[dict]) -> None:
    """For each number read with the right count of digits but not exactly, set "originals": per misread
    digit, what the page reads from its own MNIST image ("?" for doubt), in reading order."""
    misread = [(r, k) for r in results for k in misread_places(r)]
    if not misread:
        return
    images = mnist.x_test[[r["indices"][k] for r, k in misread]]
    probabilities = np.asarray(page.evaluate(BATCH_PREDICT, base64.b64encode(images.tobytes()).decode()))
    for (result, _), digit in zip(misread, shown_digits(probabilities)):
        result.setdefault("originals", []).append(LABELS[digit] if digit >= 0 else "?")


def draw(page, path, box) -> None:
    """One stroke with the mouse: path (K, 2) in pad pixels, a mouse event every MOUSE_STEP of the pad's height."""
    mouse.stroke(page, handwriting.resample(path, box["height"] * MOUSE_STEP) + (box["x"], box["y"]))


def rows_of(results: list[dict]) -> list[list]:
    """The table: exact reads per number length and overall, the misread digits that their own MNIST image
    reads right, then the 4-digit pen-up timings."""
    rows = []
    for length in (2, 3, 4, None):
        mine = [r for r in results if length is None or len(r["true"]) == length]
        exact = sum(r["true"] == r["shown"] for r in mine)
        name = f"{length}-digit numbers read exactly" if length else "all numbers read exactly"
        floor = f"≥ {EXACT_FLOOR:.0%}" if length is None else None
        rows.append([name, f"{exact}/{len(mine)}", round(100 * exact / max(len(mine), 1), 1), None, floor])
    misread = [(r["true"][k], original) for r in results
               for k, original in zip(misread_places(r), r.get("originals", []))]
    right = sum(true == original for true, original in misread)
    rows.append(["digits misread in a number, read right from their own MNIST image", f"{right}/{len(misread)}",
                 round(100 * right / len(misread), 1) if misread else None, None, None])
    four = [r for r in results if len(r["true"]) == 4]
    for key, what in (("update_ms", "attribute set"), ("frame_ms", "next frame")):
        stats = summary([r[key] for r in four]) if four else {"n": 0, "median_ms": None, "p90_ms": None}
        ceiling = f"≤ {PEN_UP_CEILING_MS} ms median" if key == "frame_ms" else None
        rows.append([f"pen-up → 4-digit number shown ({what}), median ms", stats["n"], stats["median_ms"], stats["p90_ms"], ceiling])
    return rows


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="Where numbers.json goes.")
@click.option("--numbers", type=click.IntRange(min=10), default=100, show_default=True, help="Numbers to write.")
@click.option("--chromium", default=shutil.which("chromium"), show_default=True,
              help="Chromium executable; empty for Playwright's own.")
@command_option("bench.bench_numbers")
def main(dist: Path, results_dir: Path, numbers: int, chromium: str, command_line: str | None):
    """Write numbers of MNIST test digits on the page with the mouse; write bench/results/numbers.json."""
    mnist = load_mnist(log=lambda *_: None)
    results, machine = measure_site(dist, chromium, lambda session: write_numbers(session, mnist, numbers))
    chromium_version = machine["chromium"]
    columns = ["measure", "n", "value (% or ms)", "p90 (ms)", "target"]
    rows = rows_of(results)
    misses = ", ".join(f"{r['true']}→{r['shown'] or '(none)'}" for r in results if r["true"] != r["shown"])
    notes = (f"{dist} served on 127.0.0.1 under {BASE}, a 900×900 viewport. "
             f"{numbers} numbers of 2-4 MNIST test digits (seed {SEED}), traced into strokes and written by "
             "bench.placement.place_number: digits a quarter to a half of the pad's height, ±15 % each, gaps "
             "0.1-0.4 of the digit height, the baseline drifting ±8 % per digit; drawn with the mouse. Pen-up: the "
             f"last stroke of each 4-digit number. Misread: {misses or 'none'}. A digit misread here but read right "
             "from its own MNIST image was lost by tracing or drawing.")
    path = save_result("numbers", title="Page: numbers written with the mouse, read exactly, and pen-up latency",
                       command=command_line, columns=columns, rows=rows, notes=notes, extra_machine=machine,
                       results_dir=results_dir)
    click.echo(f"\n{table(columns, rows)}\n\n{notes}\n\nwrote {path}")


if __name__ == "__main__":
    main()
