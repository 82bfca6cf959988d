"""Benchmark the built page in headless Chromium; write JSON and print a Markdown table.

    python bench/bench_page.py --dist dist --out bench/page.json

Serves DIST on 127.0.0.1 under /digits/ (as GitHub Pages serves a project) and
measures, reporting median, p90 and n of each:
  load     navigation start -> body[data-ready=true], a fresh browser context each run
  pen-up   pointerup on the canvas -> #prediction's data-strokes updated (and the
           next frame), timed inside the page with performance.now()
  predict  window.digitApp.predictMnist alone, warm, per backend the page offers
           (the page takes the first that works from the build's app-config
           "backends"; to force one, the served index.html gets that list cut
           to the one backend, in this browser only)
  sizes    bytes of dist/, dist/model/ and dist/vendor/
Every request to another origin is blocked and reported; the run fails if any.
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import re
import shutil
import threading
from pathlib import Path

import click
import numpy as np
from playwright.sync_api import sync_playwright

from pipeline.serve import make_server

BASE = "/digits/"  # URL prefix the site is served under, like https://USER.github.io/REPO/
CHROMIUM_ARGS = [  # no sandbox (containers), no GPU, and nothing that talks to the network by itself
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SETTLED = "document.body && (document.body.dataset.ready === 'true' || document.getElementById('status').dataset.state === 'error')"

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
# t2: the next animation frame (the frame that shows it).
PEN_UP_PROBE = """
() => {
  const pad = document.getElementById('pad');
  const out = document.getElementById('prediction');
  window.__penUp = {t0: null, before: null, update: [], frame: []};
  const s = window.__penUp;
  window.addEventListener('pointerup', (e) => {
    if (e.target !== pad) return;
    s.t0 = performance.now();
    s.before = out.dataset.strokes;
  }, {capture: true});
  new MutationObserver(() => {
    if (s.t0 === null || out.dataset.strokes === s.before) return;
    const t0 = s.t0;
    s.t0 = null;
    s.update.push(performance.now() - t0);
    requestAnimationFrame(() => s.frame.push(performance.now() - t0));
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
CONFIG = re.compile(r'(<script type="application/json" id="app-config">)(.*?)(</script>)', re.S)


# --------------------------------------------------------------------- helpers


def summary(samples: list[float]) -> dict:
    """median, p90 and n of a list of milliseconds."""
    a = np.asarray(samples, float)
    return {"median_ms": round(float(np.median(a)), 2), "p90_ms": round(float(np.percentile(a, 90)), 2), "n": len(a)}


def tree_bytes(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else 0


def machine() -> dict:
    """CPU model (from /proc/cpuinfo where there is one), logical cores, OS."""
    cpuinfo = Path("/proc/cpuinfo")
    names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
             if line.startswith("model name")] if cpuinfo.exists() else []
    return {"cpu": names[0] if names else platform.processor() or "unknown", "cores": os.cpu_count(),
            "os": platform.platform()}


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

    def context(self, backend: str = ""):
        """A fresh browser context (empty cache); `backend`: make the page use only that one."""
        context = self.browser.new_context(viewport={"width": 900, "height": 900})
        context.route("**/*", lambda route: self._guard(route, backend))
        context.add_init_script(READY_PROBE)
        return context

    def _guard(self, route, backend: str):
        url = route.request.url
        if not url.startswith(self.origin + "/"):
            self.foreign.append(url)
            route.abort()
        elif backend and url.split("?")[0] == self.url:
            response = route.fetch()
            route.fulfill(response=response, body=only_backend(response.text(), backend))
        else:
            route.continue_()

    def open(self, context):
        """A page at the site, ready; raises RuntimeError with the page's message if it failed."""
        page = context.new_page()
        page.goto(self.url)
        page.wait_for_function(SETTLED, timeout=60_000)
        if page.evaluate("document.body.dataset.ready") != "true":
            raise RuntimeError(page.text_content("#status"))
        return page

    def close(self):
        self.browser.close()
        self.server.shutdown()


# ---------------------------------------------------------------- measurements


def measure_load(session: Session, runs: int) -> dict:
    times = []
    for _ in range(runs):
        context = session.context()
        page = session.open(context)
        times.append(page.evaluate("window.__readyAt"))
        context.close()
    return summary(times)


def measure_pen_up(session: Session, strokes: int) -> dict:
    context = session.context()
    page = session.open(context)
    page.evaluate(PEN_UP_PROBE)
    box = page.locator("#pad").bounding_box()
    side = min(box["width"], box["height"])
    rng = np.random.default_rng(0)
    for i in range(strokes):
        page.click("#clear")
        page.wait_for_function("() => (document.getElementById('prediction').dataset.strokes || '0') === '0'")
        scale, shift = rng.uniform(0.6, 1.0), rng.uniform(-0.1, 0.1, size=2)
        points = (stroke(np.linspace(0, 1, 40)) - 0.5) * scale + 0.5 + shift
        xy = points * side + [box["x"], box["y"]]
        page.mouse.move(*xy[0])
        page.mouse.down()
        for x, y in xy[1:]:
            page.mouse.move(x, y)
        page.mouse.up()
        page.wait_for_function(f"() => window.__penUp.frame.length > {i}")
    result = page.evaluate("window.__penUp")
    context.close()
    return {"update": summary(result["update"]), "frame": summary(result["frame"])}


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
        "vendor_bytes": tree_bytes(dist / "vendor"),
        "vendor_files": {f.name: f.stat().st_size for f in sorted((dist / "vendor").glob("*"))},
    }


# ---------------------------------------------------------------------- report


def table(report: dict) -> str:
    rows = [("page load → ready", report["load"]),
            ("pen-up → prediction (attribute)", report["pen_up"]["update"]),
            ("pen-up → prediction (next frame)", report["pen_up"]["frame"])]
    for name, r in report["predict"].items():
        label = f"predictMnist, {name}" + (f" ({r['backend']})" if r.get("backend") and r["backend"] != name else "")
        rows.append((label, r))
    lines = ["| measurement | median ms | p90 ms | n |", "| --- | ---: | ---: | ---: |"]
    for name, r in rows:
        if "error" in r:
            lines.append(f"| {name} | – | – | unavailable: {r['error']} |")
        else:
            lines.append(f"| {name} | {r['median_ms']:.1f} | {r['p90_ms']:.1f} | {r['n']} |")
    s = report["sizes"]
    lines += ["", "| size | bytes |", "| --- | ---: |",
              f"| dist/ | {s['dist_bytes']:,} |", f"| dist/model/ | {s['model_bytes']:,} |",
              f"| dist/vendor/ | {s['vendor_bytes']:,} |"]
    m = report["machine"]
    lines += ["", f"{m['cpu']}, {m['cores']} cores; Chromium {report['chromium']}; {report['date']}"]
    return "\n".join(lines)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("bench/page.json"),
              show_default=True, help="Where to write the JSON results.")
@click.option("--loads", type=click.IntRange(min=1), default=10, show_default=True, help="Page loads, each in a fresh context.")
@click.option("--strokes", type=click.IntRange(min=1), default=50, show_default=True, help="Pen-up latencies to time.")
@click.option("--predicts", type=click.IntRange(min=1), default=200, show_default=True, help="predictMnist calls per backend.")
@click.option("--backend", "backends", multiple=True, default=("", "wasm", "webgl", "cpu"), show_default=True,
              help="Backends to time predict on ('' = the page's own choice). Repeatable.")
@click.option("--chromium", default=shutil.which("chromium"), show_default=True,
              help="Chromium executable; empty for Playwright's own.")
def main(dist: Path, out: Path, loads: int, strokes: int, predicts: int, backends: tuple[str, ...], chromium: str):
    """Benchmark the built page in headless Chromium; write JSON to --out and print a Markdown table."""
    if not (dist / "index.html").is_file():
        raise click.ClickException(f"{dist}: no index.html; build the site first (make build)")
    with sync_playwright() as p:
        session = Session(p, dist.resolve(), chromium or None)
        try:
            report = {
                "date": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
                "machine": machine(),
                "chromium": session.browser.version,
                "url": session.url,
                "load": measure_load(session, loads),
                "pen_up": measure_pen_up(session, strokes),
                "predict": measure_predict(session, predicts, list(backends)),
                "sizes": sizes(dist),
                "foreign_requests": sorted(set(session.foreign)),
            }
        finally:
            session.close()
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    click.echo(table(report))
    click.echo(f"\nwrote {out}")
    if report["foreign_requests"]:
        raise click.ClickException(f"the page requested other origins: {', '.join(report['foreign_requests'])}")


if __name__ == "__main__":
    main()
