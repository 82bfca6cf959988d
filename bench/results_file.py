"""One schema for every benchmark result, so `bench/report.py` can render them all into BENCHMARKS.md.

    from bench.results_file import save_result
    save_result("page", title="Page load and prediction latency", command="make bench-page",
                columns=["measure", "median", "p90", "n"], rows=[["load → ready (ms)", 564, 610, 10]],
                notes="headless Chromium, wasm backend")

writes bench/results/page.json:
    {"name", "title", "command", "measured_at" (UTC ISO), "machine": {...}, "columns", "rows", "notes"}
`machine` records what the figures depend on: CPU model and count, load average
at the time, OS, Python, and the accelerator if any (filled by the caller via `extra_machine`).
"""

from __future__ import annotations

import datetime
import json
import os
import platform
import sys
from pathlib import Path

import click

RESULTS = Path(__file__).resolve().parent / "results"


def machine_info(extra: dict | None = None) -> dict:
    """What the machine was when a figure was measured (the figures mean nothing without it)."""
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    info = {
        "cpu": cpu,
        "cores": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "load_average_1m": round(os.getloadavg()[0], 2) if hasattr(os, "getloadavg") else None,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
    }
    info.update(extra or {})
    return info


def command_option(module: str):
    """The `--command` option of every bench: the command its results record (the Makefile passes its target);
    without it, the command line that ran, as `python -m MODULE ARGS`."""
    return click.option("--command", "command_line", help="The command recorded in the results [default: this one].",
                        callback=lambda ctx, param, value: value or " ".join([f"python -m {module}", *sys.argv[1:]]))


def save_result(name: str, *, title: str, command: str, columns: list[str], rows: list[list],
                notes: str = "", extra_machine: dict | None = None, results_dir: Path = RESULTS,
                measured_at: str | None = None, machine: dict | None = None) -> Path:
    """Write results_dir/NAME.json atomically and return its path. `rows` are lists matching `columns`.

    `measured_at` and `machine` default to now and this machine; bench/hand.py passes both for a figure
    measured elsewhere or earlier."""
    for row in rows:
        if len(row) != len(columns):
            raise ValueError(f"row {row!r} has {len(row)} cells for {len(columns)} columns")
    record = {
        "name": name,
        "title": title,
        "command": command,
        "measured_at": measured_at or datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "machine": machine if machine is not None else machine_info(extra_machine),
        "columns": columns,
        "rows": rows,
        "notes": notes,
    }
    results_dir.mkdir(parents=True, exist_ok=True)
    path = results_dir / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(record, indent=2, ensure_ascii=False) + "\n")
    os.replace(tmp, path)
    return path
