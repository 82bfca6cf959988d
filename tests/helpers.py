"""Helpers shared by the tests (fixtures live in conftest.py): paths, quiet logs, the CLI's one-line errors,
the CLI and `pipeline train` as child processes, Kaggle CSV files, the slow tests' time limit, and pen strokes
drawn into image files (the predict tests)."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np

SUPERSAMPLE = 4  # pipeline.data.pen.ink's supersample for ink as a canvas draws it: anti-aliased edges
ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "node_modules"
# pytest-timeout's limit, in seconds, for a `slow` or `browser` test (others get pyproject's `timeout`): the
# first one may wait in its fixtures for the background model (minutes on 2 busy cores in CI), and the
# drawn-digit test takes ~280 s under load, so this stops only a test that is stuck. Applied by conftest.py.
SLOW_TIMEOUT = 1500


def quiet(*_args):
    """A `log` that prints nothing."""


def ctrl_c_reaches_child() -> None:
    """preexec_fn for a child the test will Ctrl-C (SIGINT): give it the default disposition.

    A shell starts background jobs with SIGINT ignored, and children inherit that, so a
    suite run as `make test &` would otherwise send Ctrl-Cs that nobody receives."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_DFL)


def one_line_error(result, *fragments):
    """check_one_line on a CliRunner result: no traceback, one `Error: ` line on its stderr holding every fragment."""
    assert result.exception is None or isinstance(result.exception, SystemExit), "no traceback"
    return check_one_line(result.exit_code, result.stderr, list(fragments))


TIMEOUT = 600  # seconds a child process may run: they take well under a minute on a quiet 2-core machine


def pipeline_train(*args, env=None, **popen):
    """`python -m pipeline train ARGS` as a child process in the repository (start_cli), output piped."""
    return start_cli("train", *args, cwd=ROOT, env=env, **popen)


def finish(process):
    """Wait for a child from pipeline_train; assert it exited 0; return its stdout."""
    out, err = process.communicate(timeout=TIMEOUT)
    assert process.returncode == 0, err[-3000:]
    return out


def kaggle_csv(path, images, labels, header="label," + ",".join(f"pixel{i}" for i in range(784))):
    """Write a Kaggle train.csv: header, then label and 784 pixels per line. Returns `path`."""
    rows = [",".join(map(str, [int(y), *x.ravel().tolist()])) for x, y in zip(images, labels)]
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


# ----------------------------------------------------------------- the CLI as a user runs it
TEMPLATE = ROOT / "site_template"
SITE = ["--template", str(TEMPLATE), "--node-modules", str(NODE_MODULES)]  # the real ones, from any cwd
# the user's environment, minus the test run's TF_CPP_MIN_LOG_LEVEL: the CLI must hold TensorFlow's chatter back itself
ENV = {**{k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}, "PYTHONPATH": str(ROOT)}


def check_one_line(exit_code: int, stderr: str, fragments: list[str]) -> str:
    """The one `Error: ` line of a failed run holding every fragment; exit 1 or 2 (70 is a bug's)."""
    lines = stderr.splitlines()
    assert exit_code in (1, 2), f"exit {exit_code}: {stderr}"
    assert len(lines) == 1, f"expected one line on stderr, got:\n{stderr}"
    assert lines[0].startswith("Error: ") and "internal error" not in lines[0], lines[0]
    for fragment in fragments:
        assert fragment in lines[0], f"{fragment!r} not in {lines[0]!r}"
    return lines[0]


def start_cli(*args: str, cwd: Path | None = None, prefix: tuple[str, ...] = ("-m", "pipeline"), env: dict | None = None,
              **popen) -> subprocess.Popen:
    """`python -m pipeline ARGS` (or `python PREFIX ARGS`) as a child in `cwd` (default: the current folder), in the
    user's environment (ENV, with `env` on top): every test that runs the CLI as a child process starts it here."""
    return subprocess.Popen([sys.executable, *prefix, *map(str, args)], cwd=cwd or Path.cwd(), env={**ENV, **(env or {})},
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE, **popen)


def start_cli_noting_imports(modules: tuple[str, ...], *args: str, cwd: Path | None = None) -> subprocess.Popen:
    """start_cli, the child writing a last stderr line "MODULE imported" for each of `modules` it imported: a run
    that should never need them (a CLI mistake refused before TensorFlow or SciPy start) then has two lines."""
    return start_cli("-c", f"import sys, runpy, atexit; sys.argv = ['pipeline', *{list(args)!r}]; atexit.register("
                     f"lambda: sys.stderr.write(''.join(m + ' imported\\n' for m in {modules!r} if m in sys.modules)));"
                     "runpy.run_module('pipeline', run_name='__main__')", cwd=cwd, prefix=())


def finished(process: subprocess.Popen) -> tuple[int, str]:
    """(exit code, stderr) of a child from `start`, having checked that it printed nothing on stdout."""
    out, err = process.communicate(timeout=TIMEOUT)
    assert out == "", f"stdout: {out}"
    return process.returncode, err


def pipeline_cli(*args, cwd: Path | None = None, timeout: float = TIMEOUT) -> subprocess.CompletedProcess:
    """`python -m pipeline ARGS` run to the end as a real child process, as a user runs it (start_cli), with
    text stdout and stderr. Real stderr shows what CliRunner cannot: a traceback, a Pillow warning."""
    process = start_cli(*args, cwd=cwd or ROOT)
    out, err = process.communicate(timeout=timeout)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)


def one_line_failure(result: subprocess.CompletedProcess, *fragments: str, code: int = 1) -> str:
    """The one `Error: ` line of a pipeline_cli result that exited `code` with nothing on stdout (check_one_line)."""
    assert result.returncode == code, (result.returncode, result.stderr[-3000:])
    assert result.stdout == "", result.stdout[-3000:]
    return check_one_line(result.returncode, result.stderr, list(fragments))


def save(ink: np.ndarray, path, style: str) -> None:
    """Write ink (uint8 (H, W)) as an image file: dark-on-light, light-on-dark, or dark ink on transparent."""
    from PIL import Image

    if style == "dark-on-light":
        image = Image.fromarray(255 - ink).convert("RGB")
    elif style == "light-on-dark":
        image = Image.fromarray(ink).convert("RGB")
    else:  # navy ink whose alpha is the coverage, on a transparent background (a canvas capture)
        rgba = np.zeros((*ink.shape, 4), np.uint8)
        rgba[..., 2], rgba[..., 3] = 90, ink
        image = Image.fromarray(rgba, "RGBA")
    image.save(path, quality=90) if path.suffix == ".jpg" else image.save(path)


# Digits whose ink broke, in a unit box (x right, y down): the marks are shorter than a digit, and the
# typical digit height must not be set by them (the cut SEGMENT_TYPICAL, above the part size SEGMENT_PART).
BROKEN = {  # tests/test_twins.py, tests/browser/test_numbers.py
    "5": [[(0.15, 0.15), (0.1, 0.45), (0.5, 0.4), (0.6, 0.75), (0.3, 1), (0, 0.9)], [(0.3, 0.05), (0.75, 0)]],
    "4": [[(0.45, 0), (0, 0.55), (0.4, 0.55)], [(0.5, 0.45), (0.55, 1)]],
    "0": [[(0.35, 0), (0.05, 0.3), (0.1, 0.8), (0.4, 1), (0.65, 0.7), (0.6, 0.15), (0.35, 0)]],
    "1": [[(0.3, 0), (0.2, 1)]],
}


def written(text: str, height: float = 0.4, gap: float = 0.08) -> list[np.ndarray]:
    """The strokes of `text` (digits of BROKEN) side by side, pad units, densified as a mouse draws them."""
    from pipeline.data.handwriting import resample

    strokes, x = [], 0.05
    for char in text:
        shape = [np.array(s) for s in BROKEN[char]]
        left, right = min(s[:, 0].min() for s in shape), max(s[:, 0].max() for s in shape)
        strokes += [resample((s - [left, 0]) * height + [x, 0.3], 0.01) for s in shape]
        x += (right - left) * height + gap
    return strokes


def png_claiming(width, height, idat=zlib.compress(b"\0" * 8)) -> bytes:
    """A PNG of a few dozen bytes whose header claims width x height 8-bit grey pixels."""
    def chunk(kind, body):
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))
    ihdr = struct.pack(">2I5B", width, height, 8, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
