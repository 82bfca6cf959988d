"""notebooks/train.ipynb: committed clean, and run whole with papermill on the CPU from a clean clone.

The whole run is a tiny one (one epoch of 12,000 images, batch 64, no redrawn digits: a model above the
95 % floor that export and build keep), exported with float16 weights: so many of its test images lie near its
decision boundaries that uint8 weights change about as many of its answers as export allows (one in a thousand),
more or fewer by the machine and its threads. It runs in a `git clone` of this repository's HEAD (so commit what it
should see), with this test's own .venv and node_modules linked in, as CI's checkout has them made by
`make`. Its zip must hold a deploy/artifacts/ that pages.yml's model-source step takes as `committed`
and that pages.yml's own build command turns into a site. notebooks/steps.py, the cells' helpers, is
tested here too: the watch on a silent first epoch, the zip, the token that never shows.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
import yaml

from tests.helpers import NODE_MODULES, ROOT

NOTEBOOK = ROOT / "notebooks" / "train.ipynb"
TINY = "--epochs 1 --train-limit 12000 --validation-size 1000 --redrawn 0 --batch-size 64"
EXPORT = "--quantize float16"
PARAMETERS = {"REPO_URL", "BRANCH", "PROFILE", "TRAIN_FLAGS", "EXPORT_FLAGS", "CHECKOUT", "PUSH_BRANCH",
              "FIRST_EPOCH_WARNING_S"}

sys.path.insert(0, str(ROOT / "notebooks"))
import steps  # noqa: E402  (notebooks/ is no package: the notebook puts it on sys.path the same way)


def cells() -> list[dict]:
    return json.loads(NOTEBOOK.read_text())["cells"]


def source(cell: dict) -> str:
    return "".join(cell["source"])


# ----------------------------------------------------------------- the committed notebook


def test_notebook_is_committed_without_outputs():
    code = [cell for cell in cells() if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


def test_only_the_first_code_cell_holds_parameters_and_every_one_is_used():
    code = [cell for cell in cells() if cell["cell_type"] == "code"]
    tagged = [cell for cell in code if "parameters" in cell["metadata"].get("tags", [])]
    assert tagged == [code[0]], "papermill injects its values after the one cell tagged `parameters`"
    assigned = set(re.findall(r"^([A-Z_]+) = ", source(code[0]), re.M))
    assert assigned == PARAMETERS
    rest = "\n".join(source(cell) for cell in code[1:])
    assert all(re.search(rf"\b{name}\b", rest) for name in PARAMETERS), "a parameter nothing reads"
    assert not re.search(r"^[A-Z_]+ = ", rest, re.M), "a constant to edit outside the parameter cell"
    assert "YOUR-" not in rest, "a placeholder to edit outside the parameter cell"


def test_notebook_names_no_absolute_path():
    for cell in cells():
        text = re.sub(r"\w+://\S+", "", source(cell))  # URLs are not paths
        assert not re.findall(r"(?<![\w.`~-])/[\w.-]+/", text), source(cell)


# ----------------------------------------------------------------- the whole notebook, run


def clean_clone(tmp_path: Path) -> Path:
    """A `git clone` of this repository's HEAD, with this test's .venv and node_modules linked in and its
    make inputs dated back, so `make setup` finds them made (as CI's checkout has them) and changes nothing."""
    clone = tmp_path / "repo"
    subprocess.run(["git", "clone", "--quiet", "--no-hardlinks", str(ROOT), str(clone)], check=True)
    (clone / ".venv").symlink_to(Path(sys.prefix), target_is_directory=True)
    (clone / "node_modules").symlink_to(NODE_MODULES.resolve(), target_is_directory=True)
    for name in ("requirements.lock", "pyproject.toml", "package-lock.json"):
        os.utime(clone / name, (0, 0))
    return clone


def pages_step(predicate) -> tuple[dict, dict]:
    """(the first step of pages.yml for which `predicate` holds, the whole workflow)."""
    workflow = yaml.safe_load((ROOT / ".github" / "workflows" / "pages.yml").read_text())
    return next(step for job in workflow["jobs"].values() for step in job["steps"] if predicate(step)), workflow


@pytest.fixture(scope="module")
def executed(tmp_path_factory):
    """(the executed notebook, its working folder, the clone) of one whole papermill run."""
    papermill = pytest.importorskip("papermill")
    if not (Path(sys.prefix) / ".installed").exists():
        pytest.skip(f"{sys.prefix} was not made by `make setup` (no .installed stamp)")
    tmp = tmp_path_factory.mktemp("notebook")
    clone, work = clean_clone(tmp), tmp / "work"
    work.mkdir()
    out = tmp / "executed.ipynb"
    saved = os.environ.pop(steps.TOKEN_NAME, None)  # the kernel inherits this environment: no token in it
    try:
        papermill.execute_notebook(str(clone / "notebooks" / "train.ipynb"), str(out), cwd=str(work),
                                   kernel_name="python3", progress_bar=False,
                                   parameters={"CHECKOUT": str(clone), "PROFILE": "t4x2", "TRAIN_FLAGS": TINY,
                                               "EXPORT_FLAGS": EXPORT})
    finally:
        if saved is not None:
            os.environ[steps.TOKEN_NAME] = saved
    return json.loads(out.read_text()), work, clone


def printed(notebook: dict) -> str:
    return "".join("".join(output.get("text", "")) for cell in notebook["cells"] for output in cell.get("outputs", []))


@pytest.mark.slow  # trains, converts and builds on real MNIST
@pytest.mark.xdist_group("notebook")  # one worker runs the notebook once for both tests
def test_the_notebook_runs_whole_on_a_cpu_and_says_what_it_found(executed):
    notebook, work, clone = executed
    text = printed(notebook)
    assert f"using the checkout in {clone}" in text
    assert "no NVIDIA GPU listed" in text and "devices: no GPU visible to TensorFlow" in text
    assert "devices: --profile t4x2: 1 replica(s) x 256 images = global batch 256" in text
    assert re.search(r"^epoch 1/1 ", text, re.M), "the epoch line streams into the notebook"
    assert re.search(r"^test accuracy: \d+\.\d+% on 10,000", text, re.M) and "parity: " in text
    figures = [o for cell in notebook["cells"] for o in cell.get("outputs", []) if "image/png" in o.get("data", {})]
    assert len(figures) == 1, "the training curves, inline"
    assert "No GITHUB_TOKEN secret here: nothing pushed" in text
    assert "no GPU: the GPU benchmark is skipped" in text
    metrics = json.loads((clone / "artifacts" / "metrics.json").read_text())
    assert metrics["strategy"]["replicas"] == 1 and metrics["global_batch"] == 64  # TRAIN_FLAGS beat the profile
    assert metrics["config"]["warmup_epochs"] == 0.5, "the t4x2 profile was used"
    assert json.loads((clone / "artifacts" / "tfjs" / "export.json").read_text())["quantize"] == "float16"  # EXPORT_FLAGS


@pytest.mark.slow  # trains, converts and builds on real MNIST
@pytest.mark.xdist_group("notebook")
def test_the_zip_is_what_the_pages_workflow_deploys(executed, tmp_path):
    _, work, clone = executed
    with zipfile.ZipFile(work / "deploy-artifacts.zip") as archive:
        names = archive.namelist()
        assert all(name.startswith("deploy/artifacts/") for name in names)
        assert {"deploy/artifacts/metrics.json", "deploy/artifacts/tfjs/model.json"} <= set(names)
        site = tmp_path / "fork"
        shutil.copytree(clone, site, symlinks=True, ignore=shutil.ignore_patterns("artifacts", ".git"))
        archive.extractall(site)
    source_step, workflow = pages_step(lambda step: step.get("id") == "source")
    env = {**os.environ, "DEPLOYED": workflow["env"]["DEPLOYED"], "CHOICE": "auto",
           "GITHUB_OUTPUT": str(tmp_path / "output"), "GITHUB_STEP_SUMMARY": str(tmp_path / "summary")}
    subprocess.run(["bash", "-e", "-c", source_step["run"]], cwd=site, env=env, check=True)
    assert (tmp_path / "output").read_text().split() == ["source=committed", "needs_export=false"]
    build_step, _ = pages_step(lambda step: "python -m pipeline build" in step.get("run", ""))
    build = next(line for line in build_step["run"].splitlines() if "python -m pipeline build" in line)
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env['PATH']}"  # `python`: this venv's
    result = subprocess.run(["bash", "-e", "-c", build], cwd=site, env={**env, "PYTHONPATH": str(site)},
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    assert (site / "dist" / "index.html").is_file() and (site / "dist" / "model" / "model.json").is_file()


# ----------------------------------------------------------------- notebooks/steps.py


def python_lines(*lines_and_pauses) -> list[str]:
    """A command printing each string, sleeping for each number."""
    body = "; ".join(f"time.sleep({x})" if isinstance(x, (int, float)) else f"print({x!r})" for x in lines_and_pauses)
    return [sys.executable, "-u", "-c", f"import time; {body}"]


WATCH = {"watch_from": r"^model: ", "watch_until": r"^epoch \d+/", "silence_after": 1,
         "silence_message": "stuck for {seconds} s"}


def test_run_streams_the_lines_and_says_so_once_when_the_first_epoch_keeps_silent(capsys):
    steps.run(python_lines("data: x", "model: y", 3.2, "epoch 1/2", 1.5, "epoch 2/2"), **WATCH)
    out = capsys.readouterr().out
    assert re.sub(r"stuck for \d+ s\n", "", out) == "data: x\nmodel: y\nepoch 1/2\nepoch 2/2\n"
    assert out.count("stuck for") == 1, "only the first epoch is watched"
    assert out.index("model: y") < out.index("stuck for ") < out.index("epoch 1/2")


def test_run_is_quiet_when_the_first_epoch_comes_in_time(capsys):
    steps.run(python_lines("model: y", 0.2, "epoch 1/1", 2.5, "test: done"), **WATCH)
    assert "stuck" not in capsys.readouterr().out


def test_run_leaves_tensorflows_native_start_up_log_out(capsys):
    native = ["E0000 00:00:1796611946.178520   16655 cuda_dnn.cc:8579] Unable to register cuDNN factory",
              "2026-12-07 02:52:34.043684: E external/local_xla/xla/stream_executor/cuda/cuda_platform.cc:51] cuInit",
              "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"]
    steps.run(python_lines(native[0], "train: tensorflow backend", *native[1:], "E: a line of our own"))
    assert capsys.readouterr().out == ("train: tensorflow backend\nE: a line of our own\n"
                                       "(3 lines of TensorFlow's C++ start-up log not shown)\n")


def test_run_names_a_failed_command():
    with pytest.raises(steps.StepFailed, match=r"exit status 3"):
        steps.run([sys.executable, "-c", "import sys; sys.exit(3)"])


def fake_artifacts(folder: Path) -> Path:
    (folder / "tfjs").mkdir(parents=True)
    (folder / "tfjs" / "model.json").write_text("{}")
    (folder / "tfjs" / "group1-shard1of1.bin").write_bytes(b"\0" * 8)
    (folder / "metrics.json").write_text('{"test_accuracy": 0.99}')
    (folder / "model.keras").write_bytes(b"not shipped")
    return folder


def test_package_zips_tfjs_and_metrics_under_deploy_artifacts(tmp_path):
    names = steps.package(fake_artifacts(tmp_path / "artifacts"), tmp_path / "deploy.zip")
    assert sorted(names) == ["deploy/artifacts/metrics.json", "deploy/artifacts/tfjs/group1-shard1of1.bin",
                             "deploy/artifacts/tfjs/model.json"]


def test_package_names_what_is_missing(tmp_path):
    (tmp_path / "artifacts").mkdir()
    with pytest.raises(steps.StepFailed, match=r"artifacts: no tfjs or metrics.json; run the training cell"):
        steps.package(tmp_path / "artifacts", tmp_path / "deploy.zip")


def test_the_token_comes_from_the_environment_where_no_platform_has_one(monkeypatch):
    monkeypatch.delenv(steps.TOKEN_NAME, raising=False)
    assert steps.github_token() is None
    monkeypatch.setenv(steps.TOKEN_NAME, "t0ken")
    assert steps.github_token() == "t0ken"


def git(*args, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def test_push_commits_deploy_artifacts_on_a_branch_and_never_shows_the_token(tmp_path):
    remote, checkout = tmp_path / "fork.git", tmp_path / "checkout"
    git("init", "--quiet", "--bare", str(remote), cwd=tmp_path)
    git("clone", "--quiet", str(remote), str(checkout), cwd=tmp_path)
    (checkout / "README.md").write_text("fork\n")
    git("add", "README.md", cwd=checkout)
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "--quiet", "-m", "first", cwd=checkout)
    head = git("rev-parse", "HEAD", cwd=checkout)
    token = "ghp_n0t-a-real-t0ken"
    output = steps.push(checkout, fake_artifacts(tmp_path / "artifacts"), str(remote), "trained-model", token, "Model")
    assert token not in output
    shipped = git("ls-tree", "-r", "--name-only", "trained-model", cwd=remote).split()
    assert shipped == ["README.md", "deploy/artifacts/metrics.json", "deploy/artifacts/tfjs/group1-shard1of1.bin",
                       "deploy/artifacts/tfjs/model.json"]
    assert git("rev-parse", "HEAD", cwd=checkout) == head and not (checkout / "deploy").exists(), "checkout untouched"
    assert len(git("worktree", "list", cwd=checkout).splitlines()) == 1, "the temporary worktree is gone"
    assert token not in (checkout / ".git" / "config").read_text()
