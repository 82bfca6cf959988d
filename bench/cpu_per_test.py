"""A pytest plugin: the machine's CPU time and the wall time of every test, to see where the suite's time goes.

    PIPELINE_TEST_ARTIFACTS=artifacts python -m pytest -p bench.cpu_per_test -n 0 -m "slow or browser"

Run it serially (-n 0) on an otherwise quiet machine: the CPU time is the whole
machine's (/proc/stat, Linux), so it counts what a test's browser, Node and
training subprocesses spend too, which the test process's own clock does not.
Each test's [node id, wall s, CPU s] goes to cpu-per-test.json in the current
folder, rewritten after every test; the end of the run prints the 15 costliest.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

OUT = Path("cpu-per-test.json")
ROWS: list[list] = []


def _cpu_seconds() -> float:
    """CPU time of the whole machine since boot: user, nice, system, irq, softirq and steal (USER_HZ = 100)."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return (sum(fields[:3]) + sum(fields[5:8])) / 100


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    cpu, wall = _cpu_seconds(), time.monotonic()
    yield
    ROWS.append([item.nodeid, round(time.monotonic() - wall, 2), round(_cpu_seconds() - cpu, 2)])
    OUT.write_text(json.dumps(ROWS, indent=0))


def pytest_terminal_summary(terminalreporter):
    if not ROWS:
        return
    terminalreporter.section("CPU per test (whole machine)")
    terminalreporter.write_line(f"{sum(r[2] for r in ROWS):.0f} CPU s in {sum(r[1] for r in ROWS):.0f} s of tests")
    for nodeid, wall, cpu in sorted(ROWS, key=lambda r: -r[2])[:15]:
        terminalreporter.write_line(f"{cpu:8.1f} CPU s {wall:8.1f} s  {nodeid}")
