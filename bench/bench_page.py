"""Benchmark the built page in headless Chromium; write the results and print them as tables.

    python -m bench.bench_page --dist dist            # -> bench/results/page.json, page-size.json, page-accuracy.json

Serves DIST on 127.0.0.1 under /digits/ (as GitHub Pages serves a project) and
measures, reporting median, p90 and n of each:
  load      navigation start -> body[data-ready=true], a fresh browser context each run
  pen-up    pointerup on the canvas -> #prediction's data-strokes updated (and the
            next frame), timed inside the page with performance.now()
  predict   window.digitApp.predictMnist alone, warm, per backend the page offers
            (the page takes the first that works from the build's app-config
            "backends"; to force one, the served index.html gets that list cut
            to the one backend, in this browser only), with each median as a
            ratio to wasm's from the same run
  accuracy  all 10,000 MNIST test images classified in the page, against the
            Keras figure in dist/metrics.json (parity: within 0.1 points)
  sizes     bytes of dist/, dist/model/ and dist/vendor/
Every request to another origin is blocked and reported; the run fails if any.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import threading
from pathlib import Path

import click
import numpy as np
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import sync_playwright

from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from pipeline.data.mnist import load_mnist
from bench.chromium import CHROMIUM_ARGS
from pipeline.tools import evaluate
from pipeline.tools.serve import body, make_server

PEN_UP_CEILING_MS = 50  # the budget of a reading: median pen-up -> prediction shown, here and in bench_numbers
PREDICT_CEILING_MS = 2  # the page's latency ceiling: median predict alone on wasm
PAINT_CEILING_MS = 16  # the paint budget: median pen-up event -> the reading painted, at device pixel ratio 2
MODEL_CEILING_BYTES = 150_000  # the download budget: the model as sent, 150 KB
ACCURACY_BATCH = 1000  # MNIST images per predictMnistBatch call
BASE = "/digits/"  # URL prefix the site is served under, like https://USER.github.io/REPO/
# Waits are CSS selectors, not wait_for_function: the page's Content-Security-Policy forbids the eval
# that Playwright's function predicates need.
SETTLED = 'body[data-ready="true"], #status[data-state="error"]'
CLEARED = '#prediction:not([data-strokes]), #prediction[data-strokes="0"], #prediction[data-strokes=""]'

# Recorded from the document's start: the moment body[data-ready] turns "true",
# in ms since navigation start (performance.now()'s origin).
READY_PROBE = """
new MutationObserver((_, observer) => {
  if (document.body && document.body.dataset.ready === 'true' && window.__readyAt === undefined) {
    window.__readyAt = performance.now();
    observer.disconnect();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-ready']});
"""

# t0: the pointerup, caught on the window in the capture phase so it precedes
# every handler of the page; t1: the MutationObserver callback when #prediction's
# data-strokes changes to a new count (live predictions while drawing rewrite
# the old count, and one started before the pen-up may land after it);
# t2: the next animation frame (the frame that shows it); t3: a task posted from
# that frame's animation callback, which runs once the frame has been painted:
# "paint" is t3 from the pointerup event's own timeStamp (the paint budget's measure).
PEN_UP_PROBE = """
() => {
  const pad = document.getElementById('pad');
  const out = document.getElementById('prediction');
  window.__penUp = {t0: null, stamp: null, before: null, update: [], frame: [], paint: []};
  const s = window.__penUp;
  // One channel, kept in s: a port that nothing references may be collected before its message lands.
  s.painted = new MessageChannel();
  s.stamps = [];
  s.painted.port1.onmessage = () => {
    s.paint.push(performance.now() - s.stamps.shift());
    document.body.dataset.benchPaints = String(s.paint.length);  // for wait_for_selector
  };
  window.addEventListener('pointerup', (e) => {
    if (e.target !== pad) return;
    s.t0 = performance.now();
    s.stamp = e.timeStamp;
    s.before = out.dataset.strokes;
  }, {capture: true});
  new MutationObserver(() => {
    if (s.t0 === null || out.dataset.strokes === s.before) return;
    const [t0, stamp] = [s.t0, s.stamp];
    s.t0 = null;
    s.update.push(performance.now() - t0);
    requestAnimationFrame(() => {
      s.frame.push(performance.now() - t0);
      document.body.dataset.benchFrames = String(s.frame.length);  // for wait_for_selector
      s.stamps.push(stamp);
      s.painted.port2.postMessage(null);
    });
  }).observe(out, {attributes: true, attributeFilter: ['data-strokes']});
}
"""

PREDICT_LOOP = """
async ([n, warm]) => {
  const image = new Uint8Array(784);
  for (let r = 4; r < 24; r++) for (let c = 13; c < 16; c++) image[r * 28 + c] = 255;  // a "1"
  for (let i = 0; i < warm; i++) await window.digitApp.predictMnist(image);
  const times = [];
  for (let i = 0; i < n; i++) {
    const t = performance.now();
    await window.digitApp.predictMnist(image);
    times.push(performance.now() - t);
  }
  return times;
}
"""

BACKEND_IN_USE = "() => window.digitApp.backend"
BATCH_PREDICT = "b64 => window.digitApp.predictMnistBatch(Uint8Array.from(atob(b64), c => c.charCodeAt(0)))"
CONFIG = re.compile(r'(<script type="application/json" id="app-config">)(.*?)(</script>)', re.S)


# --------------------------------------------------------------------- helpers


def summary(samples: list[float]) -> dict:
    """median, p90 and n of a list of milliseconds."""
    a = np.asarray(samples, float)
    return {"median_ms": round(float(np.median(a)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2), "n": len(a)}


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def only_backend(html: str, backend: str) -> str:
    """index.html with the app-config's backend list cut to `backend`."""
    match = CONFIG.search(html)
    if match is None:
        raise click.ClickException("index.html has no app-config script; cannot choose a backend")
    config = {**json.loads(match.group(2)), "backends": [backend]}
    return html[: match.start(2)] + json.dumps(config) + html[match.end(2) :]


def stroke(t: np.ndarray) -> np.ndarray:
    """A "7"-like pen path over the canvas, (K, 2) in 0-1, for parameter t in 0-1."""
    top = np.stack([0.3 + 0.45 * np.minimum(t * 2, 1), np.full_like(t, 0.25)], axis=1)
    down = np.stack([0.75 - 0.3 * np.maximum(t * 2 - 1, 0), 0.25 + 0.55 * np.maximum(t * 2 - 1, 0)], axis=1)
    return np.where((t < 0.5)[:, None], top, down)


class Session:
    """A served dist/ and a headless Chromium that may only talk to it."""

    def __init__(self, playwright, dist: Path, chromium: str | None):
        self.server = make_server(dist, base=BASE)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        host, port = self.server.server_address[:2]
        self.origin = f"http://{host}:{port}"
        self.url = self.origin + BASE
        self.browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        self.foreign: list[str] = []

    @classmethod
    def start(cls, playwright, dist: Path, chromium: str | None) -> "Session":
        """A Session for the built `dist`, or one line naming --chromium when the browser cannot start."""
        try:
            return cls(playwright, dist.resolve(), chromium or None)
        except PlaywrightError as err:
            raise click.ClickException(f"--chromium {chromium or '(Playwright own)'}: cannot start: "
                                       f"{str(err).strip().splitlines()[0]}") from None

    def context(self, backend: str = "", scale: float = 1):
        """A fresh browser context (empty cache); `backend`: make the page use only that one;
        `scale`: the device pixel ratio."""
        context = self.browser.new_context(viewport={"width": 900, "height": 900}, device_scale_factor=scale)
        context.route("**/*", lambda route: self._guard(route, backend))
        context.add_init_script(READY_PROBE)
        return context

    def _guard(self, route, backend: str):
        url = route.request.url
        try:
            if not url.startswith(self.origin + "/"):
                self.foreign.append(url)
                route.abort()
            elif backend and url.split("?")[0] == self.url:
                response = route.fetch()
                route.fulfill(response=response, body=only_backend(response.text(), backend))
            else:
                route.continue_()
        except PlaywrightError:  # the context closed while this request was in flight: no page waits for it
            pass

    def open(self, context):
        """A page at the site, ready; raises RuntimeError with the page's message if it failed."""
        page = context.new_page()
        page.goto(self.url)
        page.wait_for_selector(SETTLED, timeout=60_000)
        if page.evaluate("document.body.dataset.ready") != "true":
            raise RuntimeError(page.text_content("#status"))
        return page

    def close(self):
        self.browser.close()
        self.server.shutdown()


def measure_site(dist: Path, chromium: str | None, measure):
    """Serve the built `dist`, run `measure(session)` with a headless Chromium on it; returns what it
    returned and the machine fields a result records (accelerator, Chromium version, load at start).
    One line (ClickException) when there is no built site or the page requested another origin."""
    if not (dist / "index.html").is_file():
        raise click.ClickException(f"{dist}: no index.html; build the site first (make build)")
    load_at_start = round(os.getloadavg()[0], 2)
    with sync_playwright() as p:
        session = Session.start(p, dist, chromium)
        try:
            version = session.browser.version
            result = measure(session)
        finally:
            session.close()
    if session.foreign:
        raise click.ClickException(f"the page requested other origins: {', '.join(sorted(set(session.foreign)))}")
    return result, {"accelerator": "none (Chromium with --disable-gpu)", "chromium": version,
                    "load_average_1m_at_start": load_at_start}


# ---------------------------------------------------------------- measurements


def measure_load(session: Session, runs: int) -> dict:
    times = []
    for _ in range(runs):
        context = session.context()
        page = session.open(context)
        times.append(page.evaluate("window.__readyAt"))
        context.close()
    return summary(times)


def measure_pen_up(session: Session, strokes: int, scale: float = 1) -> dict:
    """Pen-up latencies over `strokes` strokes at device pixel ratio `scale`: {"update", "frame", "paint"} summaries."""
    context = session.context(scale=scale)
    page = session.open(context)
    page.evaluate(PEN_UP_PROBE)
    box = page.locator("#pad").bounding_box()
    side = min(box["width"], box["height"])
    rng = np.random.default_rng(0)
    for i in range(strokes):
        page.click("#clear")
        page.wait_for_selector(CLEARED, state="attached")
        scale, shift = rng.uniform(0.6, 1.0), rng.uniform(-0.1, 0.1, size=2)
        points = (stroke(np.linspace(0, 1, 40)) - 0.5) * scale + 0.5 + shift
        xy = points * side + [box["x"], box["y"]]
        page.mouse.move(*xy[0])
        page.mouse.down()
        for x, y in xy[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
        page.wait_for_selector(f'body[data-bench-paints="{i + 1}"]', state="attached")
    result = page.evaluate("window.__penUp")
    context.close()
    return {part: summary(result[part]) for part in ("update", "frame", "paint")}


def measure_predict(session: Session, calls: int, backends: list[str]) -> dict:
    """Per backend: '' is the page's own choice; others are forced (see `only_backend`)."""
    out = {}
    for backend in backends:
        context = session.context(backend)
        try:
            page = session.open(context)
            in_use = page.evaluate(BACKEND_IN_USE)
            times = page.evaluate(PREDICT_LOOP, [calls, 20])
            out[backend or "default"] = {"backend": in_use, **summary(times)}
        except Exception as err:  # a backend this Chromium cannot run (webgl without a GPU, say)
            out[backend or "default"] = {"error": str(err).splitlines()[0]}
        finally:
            context.close()
    return out


def sizes(dist: Path) -> dict:
    model = dist / "model"
    return {
        "dist_bytes": tree_bytes(dist),
        "model_bytes": tree_bytes(model),
        "model_files": sorted(f.name for f in model.iterdir()) if model.is_dir() else [],
        "model_sent_bytes": sum(len(body(f)) for f in model.iterdir()) if model.is_dir() else 0,
        "vendor_bytes": tree_bytes(dist / "vendor"),
        "vendor_files": {f.name: f.stat().st_size for f in sorted((dist / "vendor").glob("*"))},
    }


# ---------------------------------------------------------------------- results


def latency_rows(load: dict, pen_up: dict, predict: dict, pen_up_dpr2: dict | None = None) -> list[list]:
    """[measure, median ms, p90 ms, n, ÷ wasm median, the ceiling] for the "page" result."""
    wasm = predict.get("wasm", {}).get("median_ms")
    rows = [["page load → ready (fresh context)", load["median_ms"], load["p90_ms"], load["n"], None, None],
            ["pen-up → prediction (attribute set)", *_stats(pen_up["update"]), None, None],
            ["pen-up → prediction shown (next frame)", *_stats(pen_up["frame"]), None,
             f"≤ {PEN_UP_CEILING_MS:g} ms ({met(pen_up['frame']['median_ms'] <= PEN_UP_CEILING_MS)})"]]
    for dpr, measured in ((1, pen_up), (2, pen_up_dpr2)):
        if measured and "paint" in measured:
            ceiling = (f"≤ {PAINT_CEILING_MS:g} ms ({met(measured['paint']['median_ms'] <= PAINT_CEILING_MS)})"
                       if dpr == 2 else None)
            rows.append([f"pen-up event → painted, device pixel ratio {dpr}", *_stats(measured["paint"]), None, ceiling])
    for name, r in predict.items():
        label = f"predictMnist alone, {name}"
        if r.get("backend") and r["backend"] != name:
            label += f" (ran on {r['backend']})"
        if "error" in r:
            rows.append([f"{label}: unavailable ({r['error']})", None, None, 0, None, None])
            continue
        ratio = round(r["median_ms"] / wasm, 2) if wasm else None
        ceiling = (f"≤ {PREDICT_CEILING_MS:g} ms ({met(r['median_ms'] <= PREDICT_CEILING_MS)})"
                   if name == "wasm" and r.get("backend") == "wasm" else None)
        rows.append([label, *_stats(r), ratio, ceiling])
    return rows


def _stats(r: dict) -> list:
    return [r["median_ms"], r["p90_ms"], r["n"]]


def accuracy_rows(in_page: dict, page_metrics: dict) -> list[list]:
    """[model, images, accuracy %] for the in-page and the Keras accuracy, and their difference."""
    keras_accuracy, keras_images = page_metrics.get("test_accuracy"), page_metrics.get("test_images")
    rows = [[f"tfjs in Chromium ({in_page['backend']}), window.digitApp.predictMnistBatch", in_page["images"],
             round(in_page["accuracy"] * 100, 2)]]
    if "digit_accuracy" in in_page:
        rows.append([f"the same, the likeliest of the ten digits (floor ≥ 99.6 %; {met(in_page['digit_accuracy'] >= 0.996)})",
                     in_page["images"], round(in_page["digit_accuracy"] * 100, 2)])
    if "shown_right" in in_page:
        rows.append([f"the same, a ? counted wrong: the page shows the digit (floor ≥ 99.5 %; "
                     f"{met(in_page['shown_right'] >= 0.995)})", in_page["images"], round(in_page["shown_right"] * 100, 2)])
        rows.append([f"the same, calibration error (ECE, 15 bins; ceiling ≤ 1 %; {met(in_page['ece'] <= 0.01)})",
                     in_page["images"], round(in_page["ece"] * 100, 2)])
    if keras_accuracy is not None:
        rows.append(["Keras (metrics.json, at training)", keras_images, round(keras_accuracy * 100, 2)])
        difference = round((in_page["accuracy"] - keras_accuracy) * 100, 2)
        comparable = keras_images == in_page["images"]
        rows.append([f"difference, percentage points (parity: within ±0.1; {met(abs(difference) <= 0.1)})"
                     if comparable else "difference: not comparable (Keras was evaluated on other images)",
                     None, difference if comparable else None])
    return rows


def met(ok: bool) -> str:
    return "met" if ok else "MISSED"


def size_rows(s: dict) -> list[list]:
    """[what, bytes, KiB] of dist/, its model (on disk and as sent) and its vendored tfjs."""
    rows = [["dist/ (the whole site)", s["dist_bytes"]], ["dist/model/ (" + ", ".join(s["model_files"]) + ")", s["model_bytes"]],
            ["the model as a browser downloads it (model.json gzip-encoded, the weights as they are; the download budget: "
             f"≤ {MODEL_CEILING_BYTES:,} bytes; {met(s['model_sent_bytes'] <= MODEL_CEILING_BYTES)})", s["model_sent_bytes"]],
            ["dist/vendor/ (tfjs and its wasm)", s["vendor_bytes"]]]
    rows += [[f"dist/vendor/{name}", size] for name, size in s["vendor_files"].items()]
    return [[what, size, round(size / 1024, 1)] for what, size in rows]


def measure_accuracy(session: Session, mnist) -> dict:
    """Accuracy of the shipped model in the page over all MNIST test images (predictMnistBatch, 1,000 at a time):
    its argmax (not a digit counted wrong), the likeliest of the ten digits alone, how often the page would
    show the right digit (a ? is wrong), and the calibration error of its probabilities: pipeline evaluate's
    summary of them."""
    context = session.context()
    try:
        page = session.open(context)
        probabilities = []
        for start in range(0, len(mnist.x_test), ACCURACY_BATCH):
            chunk = np.ascontiguousarray(mnist.x_test[start : start + ACCURACY_BATCH], dtype=np.uint8)
            probabilities.append(np.asarray(page.evaluate(BATCH_PREDICT, base64.b64encode(chunk.tobytes()).decode())))
        probabilities = np.concatenate(probabilities)
        summary = evaluate.summarize(mnist.y_test, probabilities)  # the figures `pipeline evaluate` gives Keras
        return {"accuracy": summary["accuracy"], "images": summary["images"], "digit_accuracy": summary["digit_accuracy"],
                "shown_right": summary["shown_accuracy"], "ece": summary["calibration_error"],
                "backend": page.evaluate(BACKEND_IN_USE)}
    finally:
        context.close()


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS,
              show_default=True, help="Where page.json, page-accuracy.json and page-size.json go.")
@click.option("--loads", type=click.IntRange(min=1), default=10, show_default=True, help="Page loads, each in a fresh context.")
@click.option("--strokes", type=click.IntRange(min=1), default=50, show_default=True, help="Pen-up latencies to time.")
@click.option("--predicts", type=click.IntRange(min=1), default=200, show_default=True, help="predictMnist calls per backend.")
@click.option("--backend", "backends", multiple=True, default=("", "wasm", "webgl", "cpu"), show_default=True,
              help="Backends to time predict on ('' = the page's own choice). Repeatable.")
@click.option("--accuracy/--no-accuracy", default=True, show_default=True,
              help="Also classify all 10,000 MNIST test images in the page and compare with Keras.")
@click.option("--chromium", default=shutil.which("chromium"), show_default=True,
              help="Chromium executable; empty for Playwright's own.")
@command_option("bench.bench_page")
def main(dist: Path, results_dir: Path, loads: int, strokes: int, predicts: int, backends: tuple[str, ...],
         accuracy: bool, chromium: str, command_line: str | None):
    """Benchmark the built page in headless Chromium; write bench/results/page*.json and print the tables."""
    if not (dist / "index.html").is_file():
        raise click.ClickException(f"{dist}: no index.html; build the site first (make build)")
    load_at_start = round(os.getloadavg()[0], 2)
    mnist = load_mnist(log=lambda *_: None) if accuracy else None
    with sync_playwright() as p:
        session = Session.start(p, dist, chromium)
        try:
            chromium_version = session.browser.version
            load = measure_load(session, loads)
            pen_up = measure_pen_up(session, strokes)
            pen_up_dpr2 = measure_pen_up(session, strokes, scale=2)
            predict = measure_predict(session, predicts, list(backends))
            in_page = measure_accuracy(session, mnist) if accuracy else None
        finally:
            session.close()
    if session.foreign:  # nothing is saved from a page that broke its promise
        raise click.ClickException(f"the page requested other origins: {', '.join(sorted(set(session.foreign)))}")

    machine = {"accelerator": "none (Chromium with --disable-gpu; webgl renders in software)",
               "chromium": chromium_version, "load_average_1m_at_start": load_at_start}
    served = f"{dist} served on 127.0.0.1 under {BASE}."
    results = [
        ("page", "Page: load, pen-up and predict latency per tfjs backend",
         ["measure", "median (ms)", "p90 (ms)", "n", "median ÷ wasm", "ceiling"],
         latency_rows(load, pen_up, predict, pen_up_dpr2),
         f"{served} Load: navigation start to body[data-ready=true], a fresh context (empty cache) each time. "
         "Pen-up: a 7-like stroke drawn with the mouse; from the pointerup (caught first) to "
         "#prediction's data-strokes update, and to the next animation frame; \"painted\": from the pointerup event's own "
         "timeStamp to a task posted from that frame's animation callback (run once it is painted), at device "
         "pixel ratio 1 and 2. predictMnist: one 28×28 image, warm, "
         "per backend forced through the page's app-config; the ratio column compares medians from this run."),
        ("page-size", "Page: size of dist/ and of the model", ["what", "bytes", "KiB"], size_rows(sizes(dist)),
         f"{dist}, as built; bytes on disk (Pages gzips text in transit)."),
    ]
    if in_page is not None:
        page_metrics = json.loads((dist / "metrics.json").read_text()) if (dist / "metrics.json").is_file() else {}
        results.append(
            ("page-accuracy", "Page: accuracy of the shipped model in the browser against Keras",
             ["model", "test images", "accuracy (%)"], accuracy_rows(in_page, page_metrics),
             f"{served} All MNIST test images through window.digitApp.predictMnistBatch (the batch form of "
             "predictMnist), 1,000 per call, on the page's own backend; Keras' figure is the one training recorded."))
    for name, title, columns, rows, notes in results:
        path = save_result(name, title=title, command=command_line, columns=columns, rows=rows, notes=notes,
                           extra_machine=machine, results_dir=results_dir)
        click.echo(f"\n{title}\n\n{table(columns, rows)}\n\nwrote {path}")


if __name__ == "__main__":
    main()
