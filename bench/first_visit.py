"""A first visit to the drawing page: what it downloads, gzip as GitHub Pages serves it, and how long it takes on a phone.

    python -m bench.first_visit --dist dist                            # -> bench/results/first-visit.json
    python -m bench.first_visit --dist dist --before main=../main/dist  # and another build beside it

Each site is served on 127.0.0.1 under /digits/ by `pipeline serve`'s server, which gzips and sets
Cache-Control like GitHub Pages and records every response it sends. Measured per site:
  bytes, requests  everything sent from the navigation until the page is ready (body[data-ready=true]) and
                   its service worker controls it (its install, the precache, is done): the page, its model
                   worker and its service worker alike, headers included; and the files that came down more
                   than once (a ?v= query does not make another file). Counted at the server: an HTTP-cache
                   hit costs no network and never reaches it. No throttling; bytes do not vary run to run.
  phone            seconds from navigation to ready, and to the service worker in control, under a phone
                   profile (median of --runs, each in a fresh browser context): 1.6 Mbit/s shared and 150 ms
                   per response on every connection (the server paces them, so the page, its worker and its
                   service worker share the one slow link), and Chromium's 4x CPU slowdown on the page.
                   DevTools cannot slow a worker down ("Operation is only supported for pages, not
                   workers"), so the model worker runs at full speed.
"""

from __future__ import annotations

import os
import shutil
import statistics
import threading
from pathlib import Path

import click
from playwright.sync_api import sync_playwright

from bench.chromium import CHROMIUM_ARGS
from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from pipeline.tools.serve import Link, make_server

BASE = "/digits/"  # like https://USER.github.io/REPO/
PHONE_BITS_PER_S = 1.6e6  # Lighthouse's "slow 4G" throughput
PHONE_LATENCY_S = 0.150  # per response
PHONE_CPU_SLOWDOWN = 4  # Chromium's CPU throttling rate, page main thread
READY = 'body[data-ready="true"]'
# Resolves with performance.now() (ms since navigation start) once a service worker controls the page.
CONTROLLED_AT = """new Promise((resolve) => {
  if (navigator.serviceWorker.controller) resolve();
  else navigator.serviceWorker.addEventListener('controllerchange', () => resolve(), { once: true });
}).then(() => performance.now())"""
READY_AT = """new Promise((resolve) => {
  const done = () => document.body.dataset.ready === 'true' && (resolve(performance.now()), true);
  if (!done()) new MutationObserver((_, observer) => done() && observer.disconnect())
    .observe(document.body, { attributes: true, attributeFilter: ['data-ready'] });
})"""


def visit(browser, dist: Path, link: Link | None, cpu_slowdown: float) -> dict:
    """One first visit in a fresh context: {"sent": [Sent], "ready_s", "controlled_s"}."""
    server = make_server(dist, base=BASE, link=link)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    context = browser.new_context(viewport={"width": 412, "height": 915})  # a phone's CSS pixels
    try:
        page = context.new_page()
        if cpu_slowdown != 1:
            context.new_cdp_session(page).send("Emulation.setCPUThrottlingRate", {"rate": cpu_slowdown})
        page.goto(f"http://{host}:{port}{BASE}", timeout=120_000)
        ready_ms = page.evaluate(READY_AT)
        controlled_ms = page.evaluate(CONTROLLED_AT)
        return {"sent": list(server.sent), "ready_s": ready_ms / 1000, "controlled_s": controlled_ms / 1000}
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def measure(browser, label: str, dist: Path, runs: int) -> list:
    """One row: site, KB, requests, files fetched twice, phone ready (s), phone controlled (s)."""
    first = visit(browser, dist, None, 1)
    paths = [sent.path.removeprefix(BASE).split("?")[0] for sent in first["sent"]]
    twice = sorted({path for path in paths if paths.count(path) > 1})
    phone = [visit(browser, dist, Link(PHONE_BITS_PER_S, PHONE_LATENCY_S), PHONE_CPU_SLOWDOWN) for _ in range(runs)]
    click.echo(f"{label}: {sum(s.bytes for s in first['sent']):,} bytes, {len(paths)} requests, twice: {twice}")
    return [label, round(sum(s.bytes for s in first["sent"]) / 1000, 1), len(paths), len(twice),
            round(statistics.median(v["ready_s"] for v in phone), 2),
            round(statistics.median(v["controlled_s"] for v in phone), 2)]


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("dist"),
              show_default=True, help="The built site to measure.")
@click.option("--before", "before", multiple=True, metavar="LABEL=DIST",
              help="Another build to measure first, e.g. main=../main/dist (repeatable).")
@click.option("--runs", type=click.IntRange(min=1), default=3, show_default=True, help="Phone-profile visits per site.")
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS, show_default=True)
@click.option("--chromium", default=shutil.which("chromium"), show_default=True, help="Chromium executable.")
@command_option("bench.first_visit")
def main(dist: Path, before: tuple[str, ...], runs: int, results_dir: Path, chromium: str, command_line: str | None):
    """Measure the drawing page's first visit; write bench/results/first-visit.json and print the table."""
    sites = []
    for item in before:
        label, _, path = item.partition("=")
        if not label or not (Path(path) / "index.html").is_file():
            raise click.BadParameter(f"{item!r}: expected LABEL=DIST, DIST a built site with index.html", param_hint="--before")
        sites.append((label, Path(path).resolve()))
    if not (dist / "index.html").is_file():
        raise click.ClickException(f"{dist}: no index.html; build the site first (make build)")
    sites.append(("this build" if before else str(dist), dist.resolve()))
    load_at_start = round(os.getloadavg()[0], 2)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium or None, args=CHROMIUM_ARGS)
        try:
            rows = [measure(browser, label, path, runs) for label, path in sites]
            version = browser.version
        finally:
            browser.close()
    columns = ["site", "first visit (KB, gzip)", "requests", "files fetched twice",
               "phone: ready (s)", "phone: service worker in control (s)"]
    notes = (f"Each site served on 127.0.0.1 under {BASE} with gzip and max-age=600, as GitHub Pages serves it. Bytes: "
             "every response (headers included; 1 KB = 1,000 bytes) from the navigation until the page is ready and its "
             "service worker controls it, counted at the server. Phone: 1.6 Mbit/s and 150 ms per response, paced by the "
             f"server, and 4x CPU slowdown on the main thread (not the worker), median of {runs} fresh visits. "
             "Budget: 600 KB.")
    path = save_result("first-visit", title="Page: the first visit to the drawing page, bytes and time on a phone",
                       command=command_line, columns=columns, rows=rows, notes=notes, results_dir=results_dir,
                       extra_machine={"chromium": version, "load_average_1m_at_start": load_at_start})
    click.echo(f"\n{table(columns, rows)}\n\nwrote {path}")


if __name__ == "__main__":
    main()
