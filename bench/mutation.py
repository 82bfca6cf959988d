"""Mutation testing of the modules that decide what a visitor sees: each is broken one small change at a time
(a mutant), and the fast tests meant for it are run; a mutant they fail on is killed, one they pass survives.
mutmut (requirements-mutation.lock; settings in pyproject.toml's [tool.mutmut]) breaks the Python modules,
StrykerJS (package.json; its tap runner runs `node --test` files) the page's pure modules, one at a time.

    python -m bench.mutation                         # every module (make mutation)
    python -m bench.mutation --only site_template/js/doubt.js --only pipeline/preprocess.py   # others' rows kept
    python -m bench.mutation --rescore       # after listing an equivalent mutant in docs/testing.md

Writes bench/results/mutation.json: per module, the mutants killed, survived and timed out (a timeout counts
as caught: the broken code hung where the real one returns), the equivalent ones left out, the score
(caught / (all − equivalent)) and every survivor. An equivalent mutant (no input tells it from the code) is
listed in docs/testing.md under "Equivalent mutants", one line each: its id in backticks, then why.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import click

from bench.results_file import RESULTS, command_option, save_result

ROOT = Path(__file__).resolve().parent.parent
TESTING_DOC = ROOT / "docs" / "testing.md"
EQUIVALENT_HEADING = "## Equivalent mutants"
NODE_MODULES = ROOT / "node_modules"

# Python module -> the mutmut mutant names (globs) of its functions that are tested here: the whole module, or
# the functions named (loop.py's calibration step, webapp.py's cache groups). Which tests run for a mutant is
# mutmut's choice: those of pyproject.toml's selection that call its function.
PYTHON_MODULES = {
    "pipeline/preprocess.py": ["pipeline.preprocess.*"],
    "pipeline/calibration.py": ["pipeline.calibration.*"],
    "pipeline/train/loop.py (calibrate)": ["pipeline.train.loop.x_calibrate__mutmut_*"],
    "pipeline/tools/segment.py": ["pipeline.tools.segment.*"],
    "pipeline/tools/predict.py": ["pipeline.tools.predict.*"],
    "pipeline/data/bounded.py": ["pipeline.data.bounded.*"],
    "pipeline/build/webapp.py (cache_groups)": ["pipeline.build.webapp.x_cache_groups__mutmut_*"],
}
# page module -> the node test files that guard it (Stryker runs them with each mutant that they reach)
JS_MODULES = {
    "site_template/js/preprocess.js": ["tests/js/preprocess.test.mjs"],
    "site_template/js/doubt.js": ["tests/js/doubt.test.mjs"],
    "site_template/js/segment.js": ["tests/js/segment.test.mjs"],
    "site_template/js/adapt.js": ["tests/js/adapt.test.mjs"],
    "site_template/js/personal.js": ["tests/js/personal.test.mjs", "tests/js/personal-store.test.mjs"],
}
CAUGHT, SURVIVED, TIMED_OUT = "killed", "survived", "timeout"
FIELDS = ["module", "mutants", "killed", "timed out", "survived", "equivalent", "score (%)", "survivors"]
COLUMNS = FIELDS[:-1]  # the table in BENCHMARKS.md; the survivors, too many for it, go to SURVIVORS
SURVIVORS = RESULTS / "mutation-survivors.txt"  # one line per survivor: module, a tab, the mutant's id


def equivalent_ids(doc: Path = TESTING_DOC) -> dict[str, str]:
    """{mutant id: why it is equivalent} from the doc's "Equivalent mutants" section: lines "- `ID`: reason"."""
    text = doc.read_text()
    if EQUIVALENT_HEADING not in text:
        return {}
    section = text.split(EQUIVALENT_HEADING, 1)[1].split("\n## ", 1)[0]
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^- `([^`]+)`: (.+)$", section, re.M)}


STRYKER_PLACE = re.compile(r"^(\S+):(\d+):(\d+) (.+)$")  # path:line:column MutatorName → replacement


def listed(names: list[str], equivalent: dict[str, str]) -> set[str]:
    """The mutants of `names` that `equivalent` lists. A Stryker id names a line, which moves when lines are added
    or removed above it: an id listed with another line still names the one mutant of `names` with the same path,
    column, mutator and replacement, when there is exactly one."""
    found = {name for name in names if name in equivalent}
    elsewhere: dict[tuple, list[str]] = {}
    for name in names:
        if (place := STRYKER_PLACE.match(name)) and name not in found:
            path, _, column, what = place.groups()
            elsewhere.setdefault((path, column, what), []).append(name)
    for listed_id in equivalent:
        if (place := STRYKER_PLACE.match(listed_id)) and listed_id not in names:
            path, _, column, what = place.groups()
            if len(candidates := elsewhere.get((path, column, what), [])) == 1:
                found.add(candidates[0])
    return found


def row(module: str, statuses: dict[str, str], equivalent: dict[str, str]) -> list:
    """One results row from {mutant id: status} (CAUGHT, SURVIVED, TIMED_OUT or another, not counted)."""
    counted = {name: status for name, status in statuses.items() if status in (CAUGHT, SURVIVED, TIMED_OUT)}
    equivalent = listed(list(counted), equivalent)
    equal = sorted(name for name, status in counted.items() if status == SURVIVED and name in equivalent)
    survivors = sorted(name for name, status in counted.items() if status == SURVIVED and name not in equivalent)
    killed = sum(status == CAUGHT for status in counted.values())
    timed_out = sum(status == TIMED_OUT for status in counted.values())
    scored = len(counted) - len(equal)
    score = round(100 * (killed + timed_out) / scored, 1) if scored else None
    return [module, len(counted), killed, timed_out, len(survivors), len(equal), score, "; ".join(survivors) or "–"]


# --- Python: mutmut ---------------------------------------------------------------------------------------

# a mutant of a function that no selected test calls survives, as Stryker's NoCoverage does
MUTMUT_STATUS = {"no tests": SURVIVED}


def matches(name: str, globs: list[str]) -> bool:
    """Whether the mutmut mutant `name` is one of `globs` (mutmut's own globs: * matches anything)."""
    return any(re.fullmatch(re.escape(g).replace(r"\*", ".*"), name) for g in globs)


def mutmut_statuses(globs: list[str], log) -> dict[str, str]:
    """Run mutmut on the mutants matching `globs` (in ./mutants, which it keeps between runs for its cache) and
    return {mutant name: status} for them. main calls it once with every module's globs: each run of mutmut first
    runs the selected tests once without a mutant, then starts its fork server."""
    mutants = ROOT / "mutants"
    mutants.mkdir(exist_ok=True)
    if not (mutants / "node_modules").exists():  # the tests find node_modules beside their own folder
        (mutants / "node_modules").symlink_to(NODE_MODULES)
    mutmut = [sys.executable, "-m", "mutmut"]
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # mutmut puts mutants/ first itself
    log(f"mutmut: {' '.join(globs)}")
    subprocess.run([*mutmut, "run", *globs], cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL)
    listed = subprocess.run([*mutmut, "results", "--all", "true"], cwd=ROOT, env=env, check=True,
                            capture_output=True, text=True).stdout
    statuses = dict(re.findall(r"^\s+(\S+): (.+)$", listed, re.M))
    return {name: MUTMUT_STATUS.get(status, status) for name, status in statuses.items() if matches(name, globs)}


# --- JavaScript: StrykerJS --------------------------------------------------------------------------------

def stryker_id(path: str, mutant: dict) -> str:
    """A mutant's id as docs/testing.md names it: path:line:column MutatorName → replacement (one line)."""
    start = mutant["location"]["start"]
    replacement = " ".join(str(mutant.get("replacement", "")).split())[:60]
    return f"{path}:{start['line']}:{start['column']} {mutant['mutatorName']} → {replacement}"


STRYKER_STATUS = {"Killed": CAUGHT, "Timeout": TIMED_OUT, "Survived": SURVIVED, "NoCoverage": SURVIVED}


def stryker_statuses(module: str, tests: list[str], log) -> dict[str, str]:
    """Run StrykerJS on one page module with its test files; {mutant id: status}. A mutant no test reaches
    (NoCoverage) counts as a survivor."""
    with tempfile.TemporaryDirectory(prefix="stryker-") as scratch:
        report = Path(scratch) / "report.json"
        config = {
            "testRunner": "tap",
            "tap": {"testFiles": tests},
            "mutate": [module],
            "coverageAnalysis": "perTest",
            "concurrency": int(os.environ.get("MUTATION_WORKERS", "2")),
            # a mutant that hangs is stopped 2 s (not Stryker's default 5) beyond 1.5 × the tests' own time
            "timeoutMS": 2000,
            "reporters": ["json"],
            "jsonReporter": {"fileName": str(report)},
            "tempDirName": ".stryker-tmp",
            "cleanTempDir": "always",
            # the sandbox needs only the page's code and the node tests
            "ignorePatterns": ["/artifacts", "/dist", "/.venv*", "/mutants", "/notebooks", "/bench", "/pipeline",
                               "/docs", "/tests/*", "!/tests/js", "/.git"],
        }
        (Path(scratch) / "stryker.config.json").write_text(json.dumps(config))
        # the page config the node tests read (tests/js/page_config.mjs), rendered once rather than per mutant
        from pipeline.build.site import page_config
        (Path(scratch) / "page-config.json").write_text(json.dumps(page_config("test")))
        log(f"stryker: {module} with {', '.join(tests)}")
        stryker = NODE_MODULES / "@stryker-mutator" / "core" / "bin" / "stryker.js"
        subprocess.run(["node", str(stryker), "run", str(Path(scratch) / "stryker.config.json")], cwd=ROOT,
                       check=True, stdout=subprocess.DEVNULL, env={**os.environ, "PAGE_CONFIG": str(Path(scratch) / "page-config.json")})
        files = json.loads(report.read_text())["files"]
    return {stryker_id(path, mutant): STRYKER_STATUS.get(mutant["status"], mutant["status"])
            for path, found in files.items() for mutant in found["mutants"]}


def load_rows(results: Path = RESULTS / "mutation.json", survivors: Path = SURVIVORS) -> list[list]:
    """The rows (FIELDS) of the last run: its results file's table, each with its survivors joined by "; "."""
    if not results.is_file():
        return []
    listed: dict[str, list[str]] = {}
    for line in (survivors.read_text().splitlines() if survivors.is_file() else []):
        module, name = line.split("\t", 1)
        listed.setdefault(module, []).append(name)
    return [[*r, "; ".join(listed.get(r[0], [])) or "–"] for r in json.loads(results.read_text())["rows"]]


def save_rows(rows: list[list], command: str, survivors: Path = SURVIVORS, took: float | None = None, **when) -> Path:
    """Write the table of `rows` (FIELDS) to bench/results/mutation.json and their survivors to `survivors`;
    `took`: the seconds a run of every module took, said in the notes."""
    lines = [f"{r[0]}\t{name}" for r in rows for name in r[7].split("; ") if r[7] != "–"]
    survivors.write_text("".join(line + "\n" for line in lines))
    run = f" Every module in one run: {took // 60:.0f} min {took % 60:.0f} s." if took is not None else ""
    return save_result(
        "mutation", title="Mutation testing: what the fast tests catch", command=command, columns=COLUMNS,
        rows=[r[:7] for r in rows], **when,
        notes=f"Score: mutants killed or timed out over all but the equivalent ones (docs/testing.md). mutmut, "
              f"StrykerJS. Survivors: `bench/results/{survivors.name}`.{run}")


def merged(rows: list[list], previous: list[list]) -> list[list]:
    """`rows`, then the `previous` rows for modules `rows` has not, in the order of PYTHON_MODULES and JS_MODULES."""
    by_module = {r[0]: r for r in previous if r[0] in {*PYTHON_MODULES, *JS_MODULES}} | {r[0]: r for r in rows}
    return [by_module[m] for m in [*PYTHON_MODULES, *JS_MODULES] if m in by_module]


def rescored(old: list, equivalent: dict[str, str]) -> list:
    """A results row (COLUMNS) with the survivors that `equivalent` now lists moved to the equivalent column."""
    module, mutants, killed, timed_out, _, equal, _, survivors = old
    left = [] if survivors == "–" else survivors.split("; ")
    found = listed(left, equivalent)
    now_equal = [name for name in left if name in found]
    left = [name for name in left if name not in found]
    equal += len(now_equal)
    scored = mutants - equal
    score = round(100 * (killed + timed_out) / scored, 1) if scored else None
    return [module, mutants, killed, timed_out, len(left), equal, score, "; ".join(left) or "–"]


@click.command()
@click.option("--only", multiple=True, help="Test only this module (a key of PYTHON_MODULES or JS_MODULES); repeatable.")
@click.option("--rescore", is_flag=True,
              help="Run nothing: move the survivors docs/testing.md now lists as equivalent out of the scores.")
@command_option("bench.mutation")
def main(only: tuple[str, ...], rescore: bool, command_line: str):
    """Mutation-test the modules that decide what a visitor sees; writes bench/results/mutation.json."""
    if rescore:
        result = json.loads((RESULTS / "mutation.json").read_text())
        run = re.search(r"Every module in one run: (\d+) min (\d+) s", result["notes"])  # kept, as measured
        path = save_rows([rescored(r, equivalent_ids()) for r in load_rows()], result["command"],
                         took=60 * int(run[1]) + int(run[2]) if run else None,
                         measured_at=result["measured_at"], machine=result["machine"])
        print(f"rescored {path}")
        return
    unknown = set(only) - set(PYTHON_MODULES) - set(JS_MODULES)
    if unknown:
        raise click.BadParameter(f"{', '.join(sorted(unknown))}: not a module this bench tests", param_hint="--only")
    if shutil.which("node") is None:
        raise click.ClickException("node not found: StrykerJS needs Node.js")
    equivalent = equivalent_ids()
    previous = load_rows()
    rows, path, began = [], RESULTS / "mutation.json", time.monotonic()
    python = {module: globs for module, globs in PYTHON_MODULES.items() if not only or module in only}
    if python:
        statuses = mutmut_statuses([g for globs in python.values() for g in globs], print)
        print(f"mutmut: {len(python)} modules in {time.monotonic() - began:.0f} s")
        for module, globs in python.items():
            rows.append(row(module, {n: s for n, s in statuses.items() if matches(n, globs)}, equivalent))
            print(f"{module}: {rows[-1][6]} % of {rows[-1][1]} mutants caught; survivors: {rows[-1][7]}")
        path = save_rows(merged(rows, previous) if only else rows, command_line)
    js = {module: tests for module, tests in JS_MODULES.items() if not only or module in only}
    for module, tests in js.items():
        started = time.monotonic()
        rows.append(row(module, stryker_statuses(module, tests, print), equivalent))
        r = rows[-1]
        print(f"{module}: {r[6]} % of {r[1]} mutants caught in {time.monotonic() - started:.0f} s; survivors: {r[7]}")
        # written after each module, so that a run stopped part way keeps what it measured; the modules not
        # tested in this run keep their rows from the last (--only)
        path = save_rows(merged(rows, previous) if only else rows, command_line)
    if not only:
        path = save_rows(rows, command_line, took=time.monotonic() - began)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
