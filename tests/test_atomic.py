"""Atomic artefacts: a `pipeline export` or `pipeline build` killed with SIGKILL half-way leaves the
previous good tfjs/ or dist/ in place, and the next run succeeds and leaves no temporary folders.

The commands run as real subprocesses (their own process group, killed whole,
converter and node included) and are killed once they have started writing:
the staging folder exists and holds files. A build copies its few files in well
under a second, so the build test widens that window by making each file copy
sleep 0.2 s (a wrapper around `pipeline.build.site._copy`); nothing else is changed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipeline.artifacts import remove_leftovers, replacing_dir
from pipeline.build.site import build
from tests.helpers import NODE_MODULES, ROOT, quiet


SLOW_BUILD = """
import sys, time
import pipeline.build.site as site
from pipeline.cli import main
copy = site._copy
def slow_copy(src, dst):
    copy(src, dst)
    time.sleep(0.2)
site._copy = slow_copy
main(sys.argv[1:])
"""


def snapshot(folder: Path) -> dict[str, str]:
    """{relative path: sha256} of every file in `folder`."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def temporary_siblings(target: Path) -> list[str]:
    return sorted(p.name for p in target.parent.iterdir() if p.name.startswith(f".{target.name}."))


def kill_when(command: list[str], started_writing, timeout: float = 600) -> subprocess.Popen:
    """Run `command` from the project root; SIGKILL its whole process group as soon as `started_writing()`."""
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"killed-{os.getpid()}.log", "w+")
    proc = subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + timeout
    while not started_writing():
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            log.seek(0)
            pytest.fail(f"{command[3:5]} ended or stalled before writing (rc {proc.returncode}):\n{log.read()[-2000:]}")
        time.sleep(0.02)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    log.close()
    return proc


def staging_with_files(target: Path, needed: str | None = None, at_least: int = 1):
    """A predicate: a `.NAME.tmp-*` staging folder of `target` holds `needed` (or `at_least` files)."""
    def check() -> bool:
        for staging in target.parent.glob(f".{target.name}.tmp-*"):
            files = [p for p in staging.rglob("*") if p.is_file()]
            if (needed and (staging / needed).is_file()) or (not needed and len(files) >= at_least):
                return True
        return False
    return check


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline", *args]


def test_a_killed_build_leaves_the_previous_site(trained_artifacts, tmp_path):
    out = tmp_path / "dist"
    build(trained_artifacts, out, ROOT / "site_template", NODE_MODULES, log=quiet)
    before = snapshot(out)
    args = ["build", "--artifacts", str(trained_artifacts), "--out", str(out), "--node-modules", str(NODE_MODULES)]

    proc = kill_when([sys.executable, "-c", SLOW_BUILD, *args], staging_with_files(out, at_least=3))
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(out) == before, "the previous site is intact"
    assert temporary_siblings(out), "the killed build left its staging folder (nothing can clean up after SIGKILL)"

    rerun = subprocess.run(cli(*args), cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert temporary_siblings(out) == [], "the next build removed the dead build's staging folder"
    assert snapshot(out) == before, "and built the same site"


@pytest.mark.slow
def test_a_killed_export_leaves_the_previous_tfjs_model(trained_artifacts, tmp_path):
    artifacts = tmp_path / "artifacts"
    shutil.copytree(trained_artifacts, artifacts)
    tfjs = artifacts / "tfjs"
    before = snapshot(tfjs)
    args = ["export", "--artifacts", str(artifacts), "--node-modules", str(NODE_MODULES)]

    # killed after the converter has written model.json into staging, while the tfjs parity check runs
    proc = kill_when(cli(*args), staging_with_files(tfjs, needed="model.json"))
    assert proc.returncode == -signal.SIGKILL
    assert snapshot(tfjs) == before, "the previous tfjs model is intact"
    assert temporary_siblings(tfjs)

    rerun = subprocess.run(cli(*args), cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert rerun.returncode == 0, rerun.stderr
    assert temporary_siblings(tfjs) == []
    assert {"model.json", "export.json"} <= set(snapshot(tfjs))


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid


def test_a_kill_between_the_two_renames_still_keeps_the_previous_version(tmp_path):
    """The swap moves target aside, then staging in: a kill in between leaves no target; the next writer restores it."""
    target = tmp_path / "dist"
    pid = dead_pid()
    old = tmp_path / f".dist.old-{pid}-abc"
    (old / "dist").mkdir(parents=True)
    (old / "dist" / "index.html").write_text("previous good")
    (tmp_path / f".dist.tmp-{pid}-def").mkdir()
    (tmp_path / f".dist.tmp-{pid}-def" / "index.html").write_text("new, complete")

    assert len(remove_leftovers(target)) == 2
    assert (target / "index.html").read_text() == "previous good"
    assert temporary_siblings(target) == []


def test_a_running_writers_staging_is_left_alone(tmp_path):
    target = tmp_path / "dist"
    with replacing_dir(target) as staging:  # our own, still running
        (staging / "a").write_text("1")
        other = subprocess.Popen(["sleep", "30"])
        try:
            (tmp_path / f".dist.tmp-{other.pid}-xyz").mkdir()  # a concurrent build's
            assert remove_leftovers(target) == []
        finally:
            other.kill()
            other.wait()
    assert (target / "a").read_text() == "1"
    assert remove_leftovers(target) == [tmp_path / f".dist.tmp-{other.pid}-xyz"]
