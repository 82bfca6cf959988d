"""Sweep: hyperparameter search, each trial a `pipeline train` subprocess, chosen by validation accuracy.

The search space is a few `NAME=VALUES` lines (flags `--grid`, or a `--space` file
with one per line, `#` comments):
    learning_rate=1e-3,3e-3      a list: every value (grid) or one at random (random search)
    learning_rate=1e-4..1e-2     a range, random search only: log-uniform for learning_rate
                                 and batch_size, uniform otherwise (whole numbers for ints)
    filters=16-16-32,32-32-64    model.filters (conv 1, conv 2, conv 3 and 4), dash-separated
NAME is one of PARAMETERS, each the TrainConfig field it names, with that field's type and range.
Grid: every combination. Random (`--random N`): N draws, seeded.

Every trial is a TrainConfig (the base config with the trial's values) with a stable id
(a hash of the config), trained by a subprocess
    python -m pipeline train --config OUT/trials/ID/config.json --artifacts OUT/trials/ID [--data PATH]
so a crash or a kill stays inside one trial. Written into OUT:
    trials/ID/     config.json, train.log, and what `train` writes (model.keras, metrics.json)
    results.csv    one row per finished trial, appended (and flushed to disk) as each ends
    results.md     the finished trials as a Markdown table, best validation accuracy first
    best.json      the best trial's config (TrainConfig.to_dict()): `pipeline train --config best.json`
Resuming: run the same command again. Trials already in results.csv are skipped; a trial
that was interrupted is not in it and runs again from the start.

Selection uses only the validation split (the last epoch's val_accuracy); the test
accuracy that `train` also records is never read here.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import io
import itertools
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pipeline import artifacts
from pipeline.config import SETTINGS, Setting, TrainConfig

CONFIG_FILE = "config.json"
LOG_FILE = "train.log"
RESULTS_CSV = "results.csv"
RESULTS_MD = "results.md"
BEST_FILE = "best.json"


class SweepError(Exception):
    """A bad search space or base config. One line for the user."""


@dataclasses.dataclass(frozen=True)
class Parameter:
    field: str  # the TrainConfig field it sets, dotted ("model.dropout"): its type, range and meaning are there
    log: bool = False  # ranges are sampled log-uniformly

    @property
    def setting(self) -> Setting:
        return SETTINGS[self.field]


PARAMETERS = {
    "learning_rate": Parameter("learning_rate", log=True),
    "batch_size": Parameter("batch_size", log=True),
    "filters": Parameter("model.filters"),
    "dropout": Parameter("model.dropout"),
    "epochs": Parameter("epochs"),
    "augment_strength": Parameter("augment.strength"),
}
CSV_FIELDS = ["trial", "status", *PARAMETERS, "val_accuracy", "val_loss", "train_seconds"]


# --------------------------------------------------------------------- space


def parse_value(name: str, text: str):
    """One value of parameter `name` from its text; SweepError if it is malformed or out of its field's range."""
    setting = PARAMETERS[name].setting
    text = text.strip()
    try:
        if setting.kind is tuple:
            value = tuple(int(part) for part in text.split("-"))
            if len(value) != 3 or not all(Setting(int, setting.low, setting.high).allows(v) for v in value):
                raise ValueError
            return value
        value = float(text)
        if not math.isfinite(value) or (setting.kind is int and not value.is_integer()):
            raise ValueError
        value = setting.kind(value)
    except ValueError:
        kind = "three whole numbers like 32-32-64" if setting.kind is tuple else f"a {'whole ' if setting.kind is int else ''}number"
        raise SweepError(f"{name}={text}: expected {kind}") from None
    if not setting.allows(value):
        raise SweepError(f"{name}={text}: out of range ({_range_text(setting, value)})")
    return value


def _range_text(setting: Setting, value) -> str:
    """'> 0', '>= 1', '0 to below 1'; for a whole number above the largest allowed, that one too."""
    if setting.high is not None:
        return f"{setting.low} to {'below ' if setting.high_open else ''}{setting.high}"
    low = f"{'>' if setting.low_open else '>='} {setting.low}"
    return f"{low} and <= {setting.top}" if setting.top is not None and value > setting.top else low


def parse_space(lines: list[str], origin: str = "--grid") -> dict[str, list | tuple]:
    """NAME=VALUES lines -> {name: [values]} for lists, {name: ("range", low, high)} for ranges."""
    space = {}
    for line in lines:
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, values = line.partition("=")
        name = name.strip().replace("-", "_")
        if not sep or not values.strip():
            raise SweepError(f"{origin} {line!r}: expected NAME=VALUES, e.g. learning_rate=1e-3,3e-3")
        if name not in PARAMETERS:
            raise SweepError(f"{origin} {line!r}: unknown parameter {name!r} (one of {', '.join(PARAMETERS)})")
        if ".." in values:
            if PARAMETERS[name].setting.kind is tuple:
                raise SweepError(f"{origin} {line!r}: filters take a list, not a range")
            low, high = (parse_value(name, v) for v in values.split("..", 1))
            if not low < high:
                raise SweepError(f"{origin} {line!r}: the range's low end must be below its high end")
            space[name] = ("range", low, high)
        else:
            space[name] = [parse_value(name, v) for v in values.split(",")]
    if not space:
        raise SweepError(f"{origin}: empty search space; give NAME=VALUES, e.g. --grid learning_rate=1e-3,3e-3")
    return space


def read_space_file(path: Path) -> dict:
    """The search space in a text file: one NAME=VALUES per line, # comments."""
    try:
        lines = path.read_text().splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SweepError(f"{path}: cannot read the search space ({err})") from None
    return parse_space(lines, origin=str(path))


def grid_points(space: dict) -> list[dict]:
    """Every combination of the listed values, in the order given."""
    ranged = [name for name, values in space.items() if isinstance(values, tuple)]
    if ranged:
        raise SweepError(f"{ranged[0]}: a range (LOW..HIGH) needs random search (--random N)")
    names = list(space)
    return [dict(zip(names, combo)) for combo in itertools.product(*(space[n] for n in names))]


def random_points(space: dict, count: int, seed: int) -> list[dict]:
    """`count` seeded draws: lists uniformly, ranges log-uniform (learning rate, batch size) or uniform."""
    import numpy as np  # here, so the CLI can list PARAMETERS in its --help without loading numpy

    rng = np.random.default_rng(seed)
    points = []
    for _ in range(count):
        point = {}
        for name, values in space.items():
            spec = PARAMETERS[name]
            if isinstance(values, tuple):
                _, low, high = values
                if spec.log:
                    value = float(np.exp(rng.uniform(np.log(low), np.log(high))))
                else:
                    value = float(rng.uniform(low, high))
                point[name] = int(round(value)) if spec.setting.kind is int else float(f"{value:.4g}")
            else:
                point[name] = values[int(rng.integers(len(values)))]
        points.append(point)
    return points


def apply(base: TrainConfig, point: dict) -> TrainConfig:
    """The base config with the point's values."""
    values = base.to_dict()
    for name, value in point.items():
        section, _, field = PARAMETERS[name].field.rpartition(".")
        (values[section] if section else values)[field] = list(value) if isinstance(value, tuple) else value
    return TrainConfig.from_dict(values)


def trial_id(config: TrainConfig) -> str:
    """A stable id of a trial's full config: the same settings always get the same id."""
    return hashlib.sha256(json.dumps(config.to_dict(), sort_keys=True).encode()).hexdigest()[:10]


# --------------------------------------------------------------------- trials


def default_train_command() -> list[str]:
    return [sys.executable, "-m", "pipeline", "train"]


def _die_with_parent():  # runs in the child before exec: a killed sweep takes its trial with it
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def run_trial(config: TrainConfig, trial_dir: Path, data_path: Path | None, train_command: list[str]) -> dict:
    """Train one trial in a subprocess; returns its CSV row (status ok or failed)."""
    trial_dir.mkdir(parents=True, exist_ok=True)
    artifacts.write_json(trial_dir / CONFIG_FILE, config.to_dict())
    command = [*train_command, "--config", str(trial_dir / CONFIG_FILE), "--artifacts", str(trial_dir)]
    if data_path is not None:
        command += ["--data", str(data_path)]
    started = time.perf_counter()
    with open(trial_dir / LOG_FILE, "w") as log:
        log.write(" ".join(command) + "\n")
        log.flush()
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent)
        try:
            returncode = process.wait()
        except BaseException:  # Ctrl-C or a kill of the sweep: stop the trial, leave it unrecorded
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
            raise
    row = {"status": "failed", "val_accuracy": "", "val_loss": "", "train_seconds": round(time.perf_counter() - started, 1)}
    metrics_path = trial_dir / "metrics.json"
    if returncode == 0 and metrics_path.is_file():
        metrics = json.loads(metrics_path.read_text())
        last = metrics["history"][-1] if metrics.get("history") else {}
        row.update(status="ok", val_accuracy=metrics.get("validation_accuracy"), val_loss=last.get("val_loss", ""),
                   train_seconds=metrics.get("train_seconds", row["train_seconds"]))
    return row


# ------------------------------------------------------------------- results


def read_results(out_dir: Path) -> list[dict]:
    """The rows of results.csv (finished trials), [] if there is none yet. A last line
    cut short by a crash mid-write is ignored (its trial runs again)."""
    path = out_dir / RESULTS_CSV
    if not path.is_file():
        return []
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    return [r for r in rows if r.get("trial") and r.get("status") in ("ok", "failed") and None not in r.values()]


def append_result(out_dir: Path, row: dict) -> None:
    """Append one finished trial to results.csv in one write, on disk before returning
    (so neither Ctrl-C nor a kill leaves half a row or loses a result)."""
    path = out_dir / RESULTS_CSV
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_FIELDS)
    if not path.is_file() or path.stat().st_size == 0:
        writer.writeheader()
    else:
        with open(path, "rb") as f:
            f.seek(-1, os.SEEK_END)
            if f.read(1) != b"\n":
                buffer.write("\r\n")  # end a line cut short by a crash, so this row stands alone
    writer.writerow({k: row.get(k, "") for k in CSV_FIELDS})
    with open(path, "a", newline="") as f:
        f.write(buffer.getvalue())
        f.flush()
        os.fsync(f.fileno())


def _ranked(rows: list[dict]) -> list[dict]:
    ok = [r for r in rows if r["status"] == "ok" and r["val_accuracy"] not in ("", None)]
    return sorted(ok, key=lambda r: (-float(r["val_accuracy"]), float(r["val_loss"] or math.inf)))


def to_markdown(rows: list[dict]) -> str:
    """The trials as a Markdown table, best validation accuracy first; failed trials listed after."""
    names = list(PARAMETERS)
    lines = ["| rank | trial | " + " | ".join(names) + " | val accuracy | val loss | train s |",
             "|---:|---|" + "---:|" * len(names) + "---:|---:|---:|"]
    for rank, r in enumerate(_ranked(rows), start=1):
        loss = f"{float(r['val_loss']):.4f}" if r["val_loss"] else ""
        lines.append(f"| {rank} | {r['trial']} | " + " | ".join(r[n] for n in names)
                     + f" | {float(r['val_accuracy']):.4f} | {loss} | {r['train_seconds']} |")
    failed = [r["trial"] for r in rows if r["status"] != "ok"]
    if failed:
        lines += ["", f"Failed trials (see trials/ID/{LOG_FILE}): {', '.join(failed)}"]
    return "\n".join(lines) + "\n"


def _format(point_value) -> str:
    return "-".join(map(str, point_value)) if isinstance(point_value, tuple) else str(point_value)


def sweep(space: dict, out_dir: Path, base: TrainConfig, random: int = 0, seed: int = 0,
          data_path: Path | None = None, train_command: list[str] | None = None, log=print) -> list[dict]:
    """Run every trial of the space not yet in OUT/results.csv, then write results.md and best.json.

    Returns the rows of all finished trials (this run's and earlier ones).
    """
    if base.validation_size <= 0:
        raise SweepError("--validation-size must be > 0: trials are chosen by validation accuracy")
    points = random_points(space, random, seed) if random else grid_points(space)
    trials = {}
    for point in points:  # distinct configs only (random draws can repeat)
        config = apply(base, point)
        trials.setdefault(trial_id(config), (point, config))
    out_dir.mkdir(parents=True, exist_ok=True)
    done = {r["trial"] for r in read_results(out_dir)}
    todo = [(tid, p, c) for tid, (p, c) in trials.items() if tid not in done]
    log(f"sweep: {len(trials)} trials, {len(trials) - len(todo)} already finished in {out_dir / RESULTS_CSV}")
    for n, (tid, point, config) in enumerate(todo, start=1):
        settings = " ".join(f"{k}={_format(v)}" for k, v in point.items())
        log(f"trial {n}/{len(todo)} {tid}: {settings}")
        row = run_trial(config, out_dir / "trials" / tid, data_path, train_command or default_train_command())
        row.update(trial=tid, **{name: _format(getattr_dotted(config, PARAMETERS[name].field)) for name in PARAMETERS})
        append_result(out_dir, row)
        outcome = (f"val accuracy {float(row['val_accuracy']):.4f}" if row["status"] == "ok"
                   else f"FAILED (see {out_dir / 'trials' / tid / LOG_FILE})")
        log(f"  -> {outcome}, {row['train_seconds']} s")
    rows = read_results(out_dir)
    write_summary(out_dir, rows, log)
    return rows


def write_summary(out_dir: Path, rows: list[dict], log=print) -> None:
    """results.md, and best.json from the best finished trial (its own config.json)."""
    artifacts.write_bytes(out_dir / RESULTS_MD, to_markdown(rows).encode())
    ranked = _ranked(rows)
    if not ranked:
        log(f"sweep: no trial finished; wrote {out_dir / RESULTS_MD}")
        return
    best = ranked[0]
    config = json.loads((out_dir / "trials" / best["trial"] / CONFIG_FILE).read_text())
    artifacts.write_json(out_dir / BEST_FILE, config)
    log(f"sweep: best trial {best['trial']} (val accuracy {float(best['val_accuracy']):.4f}); "
        f"wrote {out_dir / RESULTS_CSV}, {out_dir / RESULTS_MD}, {out_dir / BEST_FILE}")


def getattr_dotted(config, dotted: str):
    for part in dotted.split("."):
        config = getattr(config, part)
    return config
