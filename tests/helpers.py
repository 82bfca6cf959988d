"""Helpers shared by the tests (fixtures live in conftest.py): paths, quiet logs, the CLI's one-line errors,
and `pipeline train` as a child process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"


def quiet(*_args):
    """A `log` that prints nothing."""


def ctrl_c_reaches_child() -> None:
    """preexec_fn for a child the test will Ctrl-C (SIGINT): give it the default disposition.

    A shell starts background jobs with SIGINT ignored, and children inherit that, so a
    suite run as `make test &` would otherwise send Ctrl-Cs that nobody receives."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_line_error(result, *fragments):
    """Assert that a CliRunner result failed with exactly one `Error` line holding every fragment, no traceback."""
    assert result.exit_code != 0
    assert result.exception is None or isinstance(result.exception, SystemExit), "no traceback"
    error_lines = [line for line in result.output.splitlines() if line.startswith("Error")]
    assert len(error_lines) == 1, result.output
    for fragment in fragments:
        assert fragment in error_lines[0], result.output


TIMEOUT = 600  # seconds per process; they take well under a minute on a quiet 2-core machine


def pipeline_train(*args, env=None, **popen):
    """`python -m pipeline train ARGS` as a child process in the repository, output piped."""
    cmd = [sys.executable, "-m", "pipeline", "train", *args]
    return subprocess.Popen(cmd, cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, **popen)


def finish(process):
    """Wait for a child from pipeline_train; assert it exited 0; return its stdout."""
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err[-3000:]
    return out


def pipeline_cli(*args, cwd=None, timeout=60):
    """`python -m pipeline ARGS` run to the end as a real child process, as a user runs it: a CompletedProcess
    with text stdout and stderr. Real stderr shows what CliRunner cannot: a traceback, a Pillow warning."""
    return subprocess.run([sys.executable, "-m", "pipeline", *map(str, args)], cwd=cwd or ROOT,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=timeout)


def one_line_failure(result, *fragments, code=1):
    """Assert that a pipeline_cli result exited `code` with nothing on stdout and exactly one line on stderr,
    `Error: ...`, holding every fragment."""
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert result.stdout == "", result.stdout[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), result.stderr[-3000:]
    for fragment in fragments:
        assert fragment in lines[0], lines[0]
    return lines[0]
