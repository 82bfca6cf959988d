"""Lighthouse scores of the built page: a fresh build, served under a sub-path, audited in Debian's Chromium.

    python -m bench.lighthouse --artifacts artifacts --runs 3     (make bench-lighthouse: a fresh build)
    python -m bench.lighthouse --dist dist                         (a site already built)

Builds the site from ARTIFACTS into a temporary dist/ (or takes --dist), serves it at
http://127.0.0.1:PORT/digits/ (as GitHub Pages serves a project site), runs the
pinned npm `lighthouse` (node_modules/.bin/lighthouse; Lighthouse's default
mobile profile: simulated slow 4G and a 4× slower CPU) RUNS times, and saves
the median of each category score (0-100) with save_result("lighthouse", ...).
Lighthouse needs Chrome: CHROME_PATH (default /usr/bin/chromium).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import tempfile
from pathlib import Path

import click

from bench.chromium import CHROMIUM_ARGS
from bench.results_file import command_option, save_result
from pipeline.tools.serve import serve_in_background

ROOT = Path(__file__).resolve().parent.parent

LIGHTHOUSE = ROOT / "node_modules" / ".bin" / "lighthouse"
CATEGORIES = ("performance", "accessibility", "best-practices", "seo")
BASE = "/digits/"  # like https://USER.github.io/REPO/
CHROME_FLAGS = ["--headless=new", *CHROMIUM_ARGS]
METRICS = ("first-contentful-paint", "largest-contentful-paint", "total-blocking-time", "cumulative-layout-shift", "speed-index")


class LighthouseError(Exception):
    """Lighthouse could not run. One line for the user."""


def run_lighthouse(url: str, report_path: Path, chrome_path: str | None = None, timeout_s: int = 300) -> dict:
    """Audit `url`; returns {"scores": {category: 0-100}, "metrics": {audit id: display value},
    "failed": [(category, audit id, title)], "report": report_path} and keeps the JSON report."""
    if not LIGHTHOUSE.is_file():
        raise LighthouseError(f"{LIGHTHOUSE}: missing (run `npm ci`)")
    env = {**os.environ, "CHROME_PATH": chrome_path or os.environ.get("CHROME_PATH", "/usr/bin/chromium")}
    command = [
        str(LIGHTHOUSE), url, "--quiet", "--output=json", f"--output-path={report_path}",
        f"--only-categories={','.join(CATEGORIES)}", f"--chrome-flags={' '.join(CHROME_FLAGS)}",
    ]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout_s)
    if done.returncode != 0 or not report_path.is_file():
        raise LighthouseError(f"lighthouse exited {done.returncode}: {(done.stderr or done.stdout).strip()[-500:]}")
    report = json.loads(report_path.read_text())
    if report.get("runtimeError"):
        raise LighthouseError(f"lighthouse: {report['runtimeError'].get('message')}")
    categories = report["categories"]
    failed = [
        (name, ref["id"], report["audits"][ref["id"]]["title"])
        for name, category in categories.items()
        for ref in category["auditRefs"]
        if ref.get("weight", 0) > 0 and (report["audits"][ref["id"]].get("score") is not None) and report["audits"][ref["id"]]["score"] < 1
    ]
    return {
        "scores": {name: round(100 * categories[name]["score"]) for name in CATEGORIES},
        "metrics": {m: report["audits"][m].get("displayValue", "") for m in METRICS if m in report["audits"]},
        "failed": failed,
        "report": report_path,
    }


@click.command()
@click.option("--artifacts", type=click.Path(file_okay=False, path_type=Path), default="artifacts",
              show_default=True, help="Trained and exported model (model.json under tfjs/, metrics.json); built afresh.")
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None,
              help="Audit this built site instead of building one from --artifacts.")
@click.option("--runs", type=click.IntRange(1, 20), default=3, show_default=True, help="Lighthouse runs; the median is saved.")
@command_option("bench.lighthouse")
def main(artifacts: Path, dist: Path | None, runs: int, command_line: str | None) -> None:
    """Build the site afresh (or take --dist), serve it under /digits/ and record its Lighthouse scores."""
    from pipeline.build.site import BuildError, build

    with tempfile.TemporaryDirectory(prefix="lighthouse-") as tmp:
        if dist is None:
            dist = Path(tmp) / "dist"
            try:
                build(artifacts, dist, ROOT / "site_template", ROOT / "node_modules", log=lambda *_: None)
            except BuildError as err:
                raise click.ClickException(str(err)) from None
        elif not (dist / "index.html").is_file():
            raise click.ClickException(f"{dist}: no index.html (run `pipeline build` first)")
        server, url = serve_in_background(dist, base=BASE)
        results = []
        try:
            for i in range(runs):
                try:
                    result = run_lighthouse(url, Path(tmp) / f"report-{i}.json")
                except (LighthouseError, subprocess.TimeoutExpired) as err:
                    raise click.ClickException(str(err)) from None
                results.append(result)
                click.echo(f"run {i + 1}: {result['scores']}  {result['metrics']}")
                for category, audit, title in result["failed"]:
                    click.echo(f"  below 100 in {category}: {audit} ({title})")
        finally:
            server.shutdown()
            server.server_close()
    load = os.getloadavg()[0]
    rows = [[name, statistics.median(r["scores"][name] for r in results), min(r["scores"][name] for r in results),
             max(r["scores"][name] for r in results), runs] for name in CATEGORIES]
    rows += [[f"{metric} (last run)", results[-1]["metrics"].get(metric, ""), "", "", 1] for metric in METRICS]
    path = save_result(
        "lighthouse",
        title="Lighthouse scores of the built page",
        command=command_line,
        columns=["category", "median", "min", "max", "runs"],
        rows=rows,
        notes=(f"lighthouse 13.5.0 (npm, pinned), default mobile profile (simulated slow 4G, 4x CPU slowdown), "
               f"Debian chromium headless; site built fresh and served by `pipeline serve` under {BASE}; "
               f"load average {load:.2f} at the end of the runs"),
    )
    click.echo(f"wrote {path}")


if __name__ == "__main__":
    main()
