"""Benchmark the page learning a visitor's hand: it learns, it does not forget, it is quick.

    python -m bench.bench_personal --dist dist        # -> bench/results/personal.json

Imagined visitors of different styles (bench.numerals.STYLES: slant,
proportions, loops, stroke count and direction, serifs, size and place on the
pad, pen speed), each in a browser of their own, write the Eastern
Arabic-Indic numerals ٢ ٣ ٤ ٧ ٨, which no MNIST model reads, with the mouse
in headless Chromium. Each writes 5 of each and corrects each reading by
tapping the right row of #probabilities (the page adapts after each); then 20
fresh ones of each are read. The adaptation recipe (site_template/js/adapt.js's
RECIPE) was chosen on the TUNING writers (`python -m bench.search_personal`);
the HELD_OUT writers are the measure, reported apart, per writer. Measured:
  learns        the fresh numerals read right after teaching ("?" counted
                wrong): the held-out writers' mean (≥ 95 %) and worst (≥ 90 %);
                the tuning writers' beside them; for scale, how the shipped
                model read the taught ones before each correction
  forgets not   predictMnist on the 10,000 MNIST test images before teaching and
                after: the largest drop over the writers (≤ 0.3 points); MNIST
                test digits traced into strokes and drawn with the mouse, read by
                the first writer's personal model (≥ 97 %)
  quick         each adaptation, from the tap's event timeStamp to #personal's
                data-state="personal" (≤ 2 s), and the longest gap between two
                animation frames of the page meanwhile (the pad stays responsive)
"""

from __future__ import annotations

import base64
import shutil
from pathlib import Path

import click
import numpy as np

from bench import mouse
from bench import placement
from bench.bench_numbers import PEN_MARGIN, draw
from bench.bench_page import ACCURACY_BATCH, BASE, BATCH_PREDICT, CLEARED, Session, measure_site, summary
from bench.numerals import HELD_OUT, LABELS, TUNING, Hand
from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from pipeline.data import handwriting
from pipeline.data.mnist import load_mnist

LEARNT_FLOOR = 0.95  # fresh numerals read right after teaching, the held-out writers' mean
WORST_FLOOR = 0.90  # ... and the worst held-out writer's
DROP_CEILING = 0.003  # the personal head's budget: MNIST test accuracy may drop this much
DRAWN_FLOOR = 0.97  # ... and the drawn-digit test, read by the personal model, stays above this
ADAPT_CEILING_MS = 2000  # ... and one adaptation takes at most this
TAUGHT_PER_LABEL, FRESH_PER_LABEL = 5, 20
SEED = 12  # the MNIST digits drawn, and each writer's own habits (bench.numerals.Hand's seed)
# The held-out writers, and the first two tuning writers for scale (the first draws the MNIST digits); every
# tuning writer is read by bench.search_personal, whose figures and the page's agree within a numeral or two.
WRITERS = (*TUNING[:2], *HELD_OUT)
# Times each adaptation: the tap's event timeStamp to the attribute change, and the longest frame gap meanwhile.
ADAPT_PROBE = """() => {
  const personal = document.querySelector('#personal');
  const state = (window.__adapt = { times: [], gaps: [], start: null, learning: false, last: 0, gap: 0 });
  document.querySelector('#probabilities').addEventListener('click', (event) => {
    state.start = event.timeStamp;
    state.last = performance.now();
    state.gap = 0;
    const frame = (now) => {
      if (state.start === null) return;
      state.gap = Math.max(state.gap, now - state.last);
      state.last = now;
      requestAnimationFrame(frame);
    };
    requestAnimationFrame(frame);
  }, true);
  new MutationObserver(() => {
    if (personal.dataset.state === 'adapting') state.learning = true;
    if (personal.dataset.state !== 'personal' || !state.learning || state.start === null) return;
    state.times.push(performance.now() - state.start);
    state.gaps.push(state.gap);
    state.start = null;
    state.learning = false;
    document.body.dataset.benchAdaptations = String(state.times.length);
  }).observe(personal, { attributes: true, attributeFilter: ['data-state'] });
}"""
MODEL_INPUT = ("c => Array.from(c.getContext('2d').getImageData(0, 0, c.width, c.height).data"
               ".filter((_, i) => i % 4 === 0))")  # the image the model read, from #model-view


def write(page, paths, box, hand: Hand | None = None) -> str:
    """Clear the pad, draw `paths` (pad pixels) with the mouse, each stroke as `hand`'s pen sends it (as
    bench_numbers draws, without one); the reading shown once every stroke is read."""
    page.click("#clear")
    page.wait_for_selector(CLEARED, state="attached")
    for path in paths:
        if hand is None:
            draw(page, path, box)
        else:
            mouse.stroke(page, hand.pen_points(path, box["height"]) + (box["x"], box["y"]))
    return page.wait_for_selector(f'#prediction[data-strokes="{len(paths)}"]', state="attached").text_content()


def placed(strokes, box, rng) -> list[np.ndarray]:
    side = box["height"]
    return list(placement.place(strokes, side, rng, min_fraction=0.4, max_fraction=0.8, margin=side * PEN_MARGIN).paths)


def written(hand: Hand, label: int, box) -> list[np.ndarray]:
    """`hand`'s numeral `label` where and as large as it writes on the pad: strokes in pad pixels."""
    return list(hand.place(hand.write(label), box["height"], box["height"] * PEN_MARGIN).paths)


def mnist_accuracy(page, mnist) -> float:
    """predictMnistBatch over the 10,000 MNIST test images: the model in use."""
    predicted = []
    for start in range(0, len(mnist.x_test), ACCURACY_BATCH):
        chunk = np.ascontiguousarray(mnist.x_test[start : start + ACCURACY_BATCH], dtype=np.uint8)
        predicted.append(np.argmax(np.asarray(page.evaluate(BATCH_PREDICT, base64.b64encode(chunk.tobytes()).decode())), 1))
    return float(np.mean(np.concatenate(predicted) == mnist.y_test))


def teach_and_measure(session: Session, mnist, drawn: int, writer: str = WRITERS[0]) -> dict:
    """One writer (a bench.numerals style), in a browser context of their own: teach, read fresh numerals,
    then draw `drawn` MNIST digits."""
    context = session.context()
    page = session.open(context)
    box = page.locator("#pad").bounding_box()
    rng = np.random.default_rng(SEED)
    hand = Hand(writer, SEED)
    before = mnist_accuracy(page, mnist)
    page.evaluate(ADAPT_PROBE)
    first_read = []  # the first round, before each correction: read by the shipped model, then by what it learnt so far
    for round_ in range(TAUGHT_PER_LABEL):
        for label in LABELS:
            first_read.append(write(page, written(hand, label, box), box, hand) == str(label))
            page.click(f'#probabilities > [data-digit="{label}"]')
            taught = round_ * len(LABELS) + LABELS.index(label) + 1
            page.wait_for_selector(f'body[data-bench-adaptations="{taught}"]', state="attached", timeout=60_000)
            page.wait_for_selector(f'#personal[data-examples="{taught}"][data-state="personal"]')
    fresh, seen = [], []
    for label in LABELS:
        for _ in range(FRESH_PER_LABEL):
            fresh.append((label, write(page, written(hand, label, box), box, hand)))
            seen.append(page.eval_on_selector("#model-view canvas", MODEL_INPUT))
    after = mnist_accuracy(page, mnist)
    picks = placement.pick_digits(mnist.y_test, drawn, SEED)
    digits = [(int(mnist.y_test[i]), write(page, placed(handwriting.image_to_strokes(mnist.x_test[i]), box, rng), box))
              for i in picks]
    adapt = page.evaluate("window.__adapt")
    page.click("#forget")  # the shipped model again: how it reads the same fresh numerals
    page.click("#forget-yes")
    page.wait_for_selector('#personal[data-examples="0"][data-state="shipped"]')
    shipped = np.argmax(page.evaluate(BATCH_PREDICT, base64.b64encode(np.asarray(seen, np.uint8).tobytes()).decode()), 1)
    context.close()
    return {"writer": writer, "before": before, "after": after, "first_read": first_read, "fresh": fresh, "digits": digits,
            "shipped_fresh": [int(p) == label for p, (label, _) in zip(shipped, fresh)],
            "adapt_ms": adapt["times"], "frame_gap_ms": adapt["gaps"]}


def rows_of(writers: list[dict]) -> list[list]:
    """The rows of personal.json from each writer's teach_and_measure; the drawn MNIST digits are the first writer's."""
    per_writer = FRESH_PER_LABEL * len(LABELS)
    right_of = lambda r: sum(shown == str(label) for label, shown in r["fresh"])  # noqa: E731
    numeral = dict(zip(range(10), "٠١٢٣٤٥٦٧٨٩"))
    rows = []
    shipped_fresh = [right for r in writers for right in r["shipped_fresh"]]
    rows.append(["the same fresh numerals, read by the shipped model, all writers", f"{sum(shipped_fresh)}/{len(shipped_fresh)}",
                 round(100 * np.mean(shipped_fresh), 1), None])
    for group, names in (("held-out", HELD_OUT), ("tuning", TUNING)):
        mine = [r for r in writers if r["writer"] in names]
        if not mine:
            continue
        each = [right_of(r) for r in mine]
        total = per_writer * len(mine)
        held_out = group == "held-out"
        rows.append([f"{group} writers ({len(mine)}): fresh numerals read right after teaching, mean", f"{sum(each)}/{total}",
                     round(100 * sum(each) / total, 1), f"≥ {LEARNT_FLOOR:.0%}" if held_out else "the recipe was chosen on these"])
        rows.append([f"  {group} writers: the worst", f"{min(each)}/{per_writer}", round(100 * min(each) / per_writer, 1),
                     f"≥ {WORST_FLOOR:.0%}" if held_out else None])
        rows += [[f"  {group}: {r['writer']}", f"{n}/{per_writer}", round(100 * n / per_writer, 1), None]
                 for r, n in zip(mine, each)]
        if held_out:
            fresh = [read for r in mine for read in r["fresh"]]
            per_numeral = FRESH_PER_LABEL * len(mine)
            rows += [[f"  {group}: {numeral[label]} (taught as {label})",
                      f"{sum(shown == str(label) for lab, shown in fresh if lab == label)}/{per_numeral}",
                      round(100 * sum(shown == str(label) for lab, shown in fresh if lab == label) / per_numeral, 1), None]
                     for label in LABELS]
    digits = writers[0]["digits"]
    drawn_right = sum(shown == str(label) for label, shown in digits)
    adapt_ms = [ms for r in writers for ms in r["adapt_ms"]]
    times = summary(adapt_ms)
    gaps = summary([ms for r in writers for ms in r["frame_gap_ms"]])
    most_forgetful = max(writers, key=lambda r: r["before"] - r["after"])
    drop = most_forgetful["before"] - most_forgetful["after"]
    round_1 = [read for r in writers for read in r["first_read"][: len(LABELS)]]
    later = [read for r in writers for read in r["first_read"][len(LABELS) :]]
    return rows + [
        ["taught numerals read right before their correction: round 1 (shipped model)", f"{sum(round_1)}/{len(round_1)}",
         round(100 * np.mean(round_1), 1), None],
        ["  rounds 2-5 (the model learnt so far)", f"{sum(later)}/{len(later)}", round(100 * np.mean(later), 1), None],
        ["MNIST test, shipped model in the page (predictMnist)", 10000, round(100 * most_forgetful["before"], 2), None],
        [f"MNIST test, personal model in the page (the writer whose model dropped most: {most_forgetful['writer']})", 10000,
         round(100 * most_forgetful["after"], 2), None],
        ["drop, points", None, round(100 * drop, 2), f"≤ {100 * DROP_CEILING:.1f}"],
        [f"MNIST test digits drawn with the mouse, the first writer's personal model ({writers[0]['writer']})",
         f"{drawn_right}/{len(digits)}", round(100 * drawn_right / max(len(digits), 1), 1), f"≥ {DRAWN_FLOOR:.0%}"],
        ["one adaptation, tap → personal model in use, median ms (p90)", times["n"], times["median_ms"],
         f"≤ {ADAPT_CEILING_MS} (p90 {times['p90_ms']}, max {round(max(adapt_ms), 1)})"],
        ["longest gap between frames during an adaptation, median ms (p90)", gaps["n"], gaps["median_ms"], f"p90 {gaps['p90_ms']}"],
    ]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="Where personal.json goes.")
@click.option("--drawn", type=click.IntRange(min=10), default=100, show_default=True,
              help="MNIST test digits drawn with the mouse after teaching.")
@click.option("--chromium", default=shutil.which("chromium"), show_default=True,
              help="Chromium executable; empty for Playwright's own.")
@click.option("--writers", "writer_names", default=",".join(WRITERS), show_default=True,
              help="The writers (bench.numerals style names), comma-separated; the first draws the MNIST digits.")
@command_option("bench.bench_personal")
def main(dist: Path, results_dir: Path, drawn: int, chromium: str, writer_names: str, command_line: str | None):
    """Teach the page a hand of Eastern Arabic-Indic numerals; write bench/results/personal.json."""
    writers_chosen = [name.strip() for name in writer_names.split(",")]
    unknown = [name for name in writers_chosen if name not in WRITERS]
    if unknown:
        raise click.BadParameter(f"no such writer {unknown[0]!r}; the writers: {', '.join(WRITERS)}", param_hint="--writers")
    mnist = load_mnist(log=lambda *_: None)
    writers, machine = measure_site(dist, chromium, lambda session: [
        teach_and_measure(session, mnist, drawn if writer == writers_chosen[0] else 0, writer) for writer in writers_chosen])
    chromium_version = machine["chromium"]
    columns = ["measure", "n", "value (% or ms)", "floor"]
    rows = rows_of(writers)
    notes = (f"{dist} served on 127.0.0.1 under {BASE}, a 900×900 viewport, wasm. "
             f"{len(writers_chosen)} writers of different styles (bench.numerals.STYLES, each with seed {SEED}), each in "
             f"their own browser context, write ٢ ٣ ٤ ٧ ٨ with the mouse, each with their own size, place and "
             f"pen speed: {TAUGHT_PER_LABEL} of each taught through #probabilities (an adaptation after each), "
             f"then {FRESH_PER_LABEL} fresh ones of each read. The recipe (site_template/js/adapt.js RECIPE) was chosen "
             f"on the tuning writers (bench.numerals.TUNING) with bench.search_personal; the held-out writers "
             f"(bench.numerals.HELD_OUT) are the measure. Then {drawn} MNIST test digits (seed {SEED}) traced by "
             "pipeline.data.handwriting and drawn the same way, read by the first writer's personal model.")
    path = save_result("personal", title="Page: learning a visitor's hand (Eastern Arabic-Indic numerals)",
                       command=command_line, columns=columns, rows=rows, notes=notes, extra_machine=machine,
                       results_dir=results_dir)
    click.echo(f"\n{table(columns, rows)}\n\n{notes}\n\nwrote {path}")


if __name__ == "__main__":
    main()
