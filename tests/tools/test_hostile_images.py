"""Images crafted to make `pipeline predict` do harm or work: PostScript that Pillow would hand to Ghostscript,
and small files within the size limit that ask for much work (millions of marks, a photo-sized stroke, noise).

Each runs the real CLI as a child process. A refusal is one line naming the file; an image that is read finishes
within PREDICT_CPU_S of CPU time and PREDICT_MEMORY bytes (the child's peak resident memory, from its rusage),
and reaches the model (which is missing here, so it ends with that one line instead): every image in the size
limit costs a bounded amount, or is refused. Rows of docs/hardening.md's image table."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from tests.helpers import ENV, ROOT, check_one_line

PREDICT_CPU_S = 30  # user + system seconds of one predict on one image in the size limit, at most
PREDICT_MEMORY = 2 * 2**30  # bytes of resident memory, at most
SIDE = 7000  # pixels: 49 megapixels, just under predict's 50
# Runs the command after it and prints its exit code, stderr and rusage as JSON: the only child of this
# process is the command, so RUSAGE_CHILDREN is the command's own.
MEASURED = """import json, resource, subprocess, sys
done = subprocess.run(sys.argv[1:], capture_output=True, text=True)
use = resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"code": done.returncode, "stderr": done.stderr, "cpu_s": use.ru_utime + use.ru_stime,
                  "peak_bytes": use.ru_maxrss * 1024}))"""


def measured_predict(path, tmp_path, env=None) -> dict:
    command = [sys.executable, "-c", MEASURED, sys.executable, "-m", "pipeline", "predict", "--artifacts",
               str(tmp_path / "no-model"), str(path)]
    done = subprocess.run(command, cwd=tmp_path, env=env or ENV, capture_output=True, text=True, timeout=300)
    return json.loads(done.stdout)


def test_postscript_never_reaches_ghostscript(tmp_path):
    """An EPS file named .png holding an endless loop: Pillow, asked to guess the format, would run `gs` on it (for
    ever). A stand-in `gs` first on PATH notes any call; predict must refuse the file without one."""
    bin_dir, called = tmp_path / "bin", tmp_path / "gs-was-called"
    bin_dir.mkdir()
    (bin_dir / "gs").write_text(f"#!/bin/sh\necho \"$@\" >> '{called}'\nsleep 60\n")
    (bin_dir / "gs").chmod(0o755)
    eps = tmp_path / "digit.png"
    eps.write_bytes(b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 28 28\n%%EndComments\n{ } loop\nshowpage\n%%EOF\n")
    result = measured_predict(eps, tmp_path, env={**ENV, "PATH": f"{bin_dir}{os.pathsep}{ENV['PATH']}"})
    assert not called.exists(), f"Ghostscript ran: gs {called.read_text()}"
    check_one_line(result["code"], result["stderr"], [f"{eps}: not an image predict reads"])


def dots(path):
    """A dot on every other pixel of every other row: 12 million marks in a PNG of about 75 KB."""
    ink = np.full((SIDE, SIDE), 255, np.uint8)
    ink[::2, ::2] = 0
    Image.fromarray(ink).save(path, optimize=True)


def noise(path):
    """Every pixel black or white at random: one mark across the whole image and millions of small ones. Saved with
    zlib's quickest level: noise does not compress, and the default level spends seconds finding that out."""
    Image.fromarray(np.where(np.random.default_rng(0).random((SIDE, SIDE)) < 0.5, 0, 255).astype(np.uint8)).save(
        path, compress_level=1)


def stroke(path):
    """One stroke 6000 pixels high and 1000 wide: a "1" the size of a photo."""
    ink = np.full((SIDE, SIDE), 255, np.uint8)
    ink[500:6500, 3000:4000] = 0
    Image.fromarray(ink).save(path, optimize=True)


# image -> what predict's one line says after the path: a refusal, or (no-model) that it read the image
COSTLY = {
    "a grid of 12 million dots": (dots, "no number found (12250000 separate marks; a number has at most 1000)"),
    "49 megapixels of noise": (noise, None),
    "a stroke the size of a photo": (stroke, None),
}


@pytest.mark.parametrize("case", COSTLY, ids=list(COSTLY))
def test_a_costly_image_is_read_or_refused_within_bounded_time_and_memory(tmp_path, case):
    make, refusal = COSTLY[case]
    path = tmp_path / "image.png"
    make(path)
    result = measured_predict(path, tmp_path)
    expected = [f"{path}: {refusal}"] if refusal else [f"{tmp_path / 'no-model' / 'model.keras'}: no trained model"]
    check_one_line(result["code"], result["stderr"], expected)
    assert result["cpu_s"] <= PREDICT_CPU_S, f"{result['cpu_s']:.1f} s of CPU"
    assert result["peak_bytes"] <= PREDICT_MEMORY, f"{result['peak_bytes'] / 2**30:.2f} GiB at the peak"
