"""Choose the page's recipe for learning a hand (site_template/js/adapt.js's RECIPE) on the tuning writers only.

    python -m bench.search_personal --dist DIST --tag NAME      # -> bench/results/experiments/personal_search_NAME.json

For each candidate recipe (--set NAME, one of SETS, or --recipes FILE: a JSON list of RECIPE-shaped objects) and each
tuning writer of bench/numerals.py (TUNING, several seeds each: their own small habits), the writer's
numerals are drawn as the page draws them for the model (each stroke as the pad receives it from their
pen, `pipeline.data.pen.digit`: the page's pen and preprocessing), TAUGHT_PER_LABEL of each taught, and the
page's own learning (`bench/personal_recipe.mjs`: js/adapt.js on the page's features, tfjs + wasm)
learns a head from them; FRESH_PER_LABEL fresh ones of each are then read with it, "?" counted wrong
(pipeline.calibration.shown_digits, the page's doubt rule), and the 10,000 MNIST test images. No
browser, so quicker than `make bench-personal` by far; the held-out writers are never read here.
The recipe chosen: the best worst writer, then the best mean, among those whose MNIST drop stays
within DROP_CEILING.

A recipe may also name more features than the page's (`extra`: an earlier layer's output of the graph
model after the page's features, the replay then read from the images adapt.bin's came from);
bench/personal_recipe.mjs says how. These are tried here only: the page learns on the model's features and
adapt.json's block.
"""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

import click
import numpy as np

from bench.bench_personal import DROP_CEILING, FRESH_PER_LABEL, TAUGHT_PER_LABEL
from bench.numerals import LABELS, TUNING, Hand
from bench.report import table
from bench.results_file import RESULTS, command_option, save_result
from pipeline.calibration import shown_digits
from pipeline.config import ExportConfig
from pipeline.data import pen
from pipeline.data.mnist import load_mnist
from pipeline.export import replay_images

SCRIPT = Path(__file__).with_name("personal_recipe.mjs")
PAD = 560.0  # the pad's side, pixels (what the pen's step is a fraction of)
MARGIN = PAD / 32  # the bench's PEN_MARGIN
SHIPPED = {"copies": 8, "replayWeight": 3, "steps": 100, "learningRate": 0.02, "turn": 0.12, "scale": [0.85, 1.1],
           "squash": 0.0, "shear": 0.15, "shift": 1.5, "replayShare": 1}  # the recipe before these searches


def _with(**changes) -> dict:
    return {**SHIPPED, **changes}


AUGMENT_REPLAY_STEPS = [  # a first look: each knob alone, then together
    SHIPPED,
    _with(shear=0.3),
    _with(squash=0.25),
    _with(shear=0.3, squash=0.25, turn=0.18),
    _with(copies=16),
    _with(copies=16, shear=0.3, squash=0.25, turn=0.18),
    _with(replayWeight=1.5),
    _with(replayWeight=6),
    _with(steps=200),
    _with(learningRate=0.04),
    _with(copies=16, shear=0.3, squash=0.25, turn=0.18, replayWeight=2),
    _with(copies=16, shear=0.3, squash=0.25, turn=0.18, steps=150, learningRate=0.03),
]
NARROWER = [  # the first look's differences were within chance: its closest rivals again, on more writers' seeds
    SHIPPED,
    _with(replayWeight=1.5),
    _with(replayWeight=2),
    _with(squash=0.15, shear=0.25),
    _with(copies=12, shear=0.3, squash=0.25, turn=0.18, replayWeight=4),
]
CHOSEN_2 = _with(replayWeight=2)  # what the narrower search chose
SEVEN_WRITERS = [  # on the seven tuning writers (two of them writers that read worst with CHOSEN_2): steps at most
    # 150, each step's cost being the replay's, so an adaptation stays within the page's 2 s
    CHOSEN_2,
    SHIPPED,
    _with(replayWeight=1),
    _with(replayWeight=2, copies=16),
    _with(replayWeight=2, steps=150, learningRate=0.03),
    _with(replayWeight=2, learningRate=0.04),
    _with(replayWeight=2, squash=0.15, shear=0.25),
    _with(replayWeight=2, turn=0.06, shear=0.08, scale=[0.92, 1.05], shift=1.0),
]
CURRENT = _with(replayWeight=1)  # what the seven-writers search chose
NODE = "StatefulPartitionedCall/functional_1/{}_relu_1/Relu"  # an earlier layer's node in the converted graph model
C4, C3 = NODE.format("c4"), NODE.format("c3")  # the last conv block's output (3×3×64), the pooled one before it (5×5×64)


def _extra(node: str, pool: str, scale: float, **changes) -> dict:
    """CURRENT with an earlier node's output after the features (bench/personal_recipe.mjs's `extra`)."""
    return {**CURRENT, "extra": {"node": node, "pool": pool, "scale": scale}, **changes}


EARLIER_FEATURES = [  # the features followed by an earlier layer's output; scale 0 is the float replay's control
    CURRENT,
    _extra(C4, "none", 0.0),
    _extra(C4, "none", 1.0),
    _extra(C4, "mean", 1.0),
    _extra(C4, "max", 1.0),
    _extra(C3, "max", 1.0),
    _extra(C3, "none", 1.0),
]


def _projected(dims: int, **changes) -> dict:
    """CURRENT with C3 projected on `dims` fixed random directions after the features."""
    return {**CURRENT, "extra": {"node": C3, "pool": "project", "scale": 1.0, "dims": dims}, **changes}


CHEAPER = [  # the earlier-features search's best (C3 as it is, 1600 more features) learns some 15 times slower: the
    # same block projected on fewer random directions, or fewer MNIST digits replayed
    CURRENT,
    _projected(256),
    _projected(512),
    _extra(C3, "none", 1.0, replayPerClass=100),
    _extra(C3, "none", 0.5, replayPerClass=100),
    _extra(C4, "none", 1.0, replayPerClass=100),
]
CHEAPER_2 = [  # replaying fewer digits cost MNIST more than DROP_CEILING: fewer directions, or fewer steps
    CURRENT,
    _projected(128),
    _projected(64),
    _projected(128, steps=50, learningRate=0.04),
    _projected(256, steps=50, learningRate=0.04),
]
MNIST_MARGIN = [  # the projected block's MNIST drop sat at DROP_CEILING: more weight on the replay
    CURRENT,
    _projected(256, replayWeight=2),
    _projected(256, replayWeight=1.5),
    _extra(C4, "none", 1.0, replayWeight=2),
]
REPLAY_SHARE = [  # the projected block learns some 5 times slower, its cost the replay's: each step replaying a part
    # of the MNIST digits (js/adapt.js's replayShare), every part in turn. The page took the second: as good as
    # CURRENT, 2.4 times quicker (js/adapt.js's RECIPE)
    CURRENT,
    {**CURRENT, "replayShare": 0.25},
    _projected(256, replayWeight=2),
    _projected(256, replayWeight=2, replayShare=0.5),
    _projected(256, replayWeight=2, replayShare=0.25),
]
# The sets above ran on builds whose adapt.json had no block (a build exported with ExportConfig(block_directions=0)
# gives one); `extra` then came after the model's features alone. On a build with a block, the features a recipe
# learns on are the page's: the model's, then the block's.
PAGE = {**CURRENT, "replayWeight": 2, "replayShare": 0.25}  # js/adapt.js's RECIPE, on the page's features with the block
BLOCK_RECIPE = [  # the block on the page: its recipe's knobs once more, each alone (steps at most 150: the page's 2 s)
    PAGE,
    {**PAGE, "steps": 150},
    {**PAGE, "copies": 16},
    {**PAGE, "learningRate": 0.03},
    {**PAGE, "replayWeight": 1.5},
    {**PAGE, "shear": 0.25, "squash": 0.15},
]
BLOCK_SHARE = [  # the block made each adaptation five times slower on the page: each step replaying an eighth
    PAGE,
    {**PAGE, "replayShare": 0.125},
    {**PAGE, "replayShare": 0.125, "steps": 150},
]
BLOCK_WEIGHT = [  # how much the block weighs beside the features as the head learns: its values times blockScale
    # (bench/personal_recipe.mjs; the page's weight is adapt.json's factor, the features' mean length)
    PAGE,
    {**PAGE, "blockScale": 0.5},
    {**PAGE, "blockScale": 2},
    {**PAGE, "blockScale": 3},
]
P1 = NODE.format("c2")  # the first pooling's output (12×12×32, its ReLU after it in the graph): finer than the block
EARLIER_BLOCK = [  # most of the tuning writers' errors are ٢ read as 3 or ٣ as 2, which differ by a tooth a
    # few pixels wide: the first pooling's finer grid, projected, after the page's features and block
    PAGE,
    {**PAGE, "extra": {"node": P1, "pool": "project", "scale": 1.0, "dims": 128}},
    {**PAGE, "extra": {"node": P1, "pool": "project", "scale": 1.0, "dims": 256}},
]
SETS = {"augment-replay-steps": AUGMENT_REPLAY_STEPS, "narrower": NARROWER, "seven-writers": SEVEN_WRITERS,
        "earlier-features": EARLIER_FEATURES, "cheaper": CHEAPER,
        "cheaper-2": CHEAPER_2, "mnist-margin": MNIST_MARGIN, "replay-share": REPLAY_SHARE, "block-recipe": BLOCK_RECIPE,
        "block-share": BLOCK_SHARE, "block-weight": BLOCK_WEIGHT, "earlier-block": EARLIER_BLOCK}


def drawn(hand: Hand, label: int) -> np.ndarray:
    """One numeral of `hand` as the page renders it for the model: uint8 (28, 28)."""
    placement = hand.place(hand.write(label), PAD, MARGIN)
    return pen.digit([hand.pen_points(path, PAD) for path in placement.paths])


def writers_task(seeds: list[int]) -> tuple[list[dict], np.ndarray, np.ndarray, list[list[int]]]:
    """The tuning writers' taught images (round by round, as the bench teaches), fresh images and labels."""
    writers, taught, fresh, fresh_labels = [], [], [], []
    for name in TUNING:
        for seed in seeds:
            hand = Hand(name, seed)
            labels = [label for _ in range(TAUGHT_PER_LABEL) for label in LABELS]
            taught += [drawn(hand, label) for label in labels]
            mine = [label for label in LABELS for _ in range(FRESH_PER_LABEL)]
            fresh += [drawn(hand, label) for label in mine]
            writers.append({"name": f"{name} (seed {seed})", "taught": labels, "fresh": len(mine)})
            fresh_labels.append(mine)
    return writers, np.asarray(taught, np.uint8), np.asarray(fresh, np.uint8), fresh_labels


def run_recipes(dist: Path, recipes: list[dict], seeds: list[int], node_modules: Path) -> tuple[dict, list[list[int]]]:
    """bench/personal_recipe.mjs's out.json for `recipes` on the tuning writers, and each writer's fresh labels."""
    mnist = load_mnist(log=lambda *_: None)
    writers, taught, fresh, fresh_labels = writers_task(seeds)
    with tempfile.TemporaryDirectory() as work:
        work = Path(work)
        (work / "task.json").write_text(json.dumps({"recipes": recipes, "writers": writers, "mnist": len(mnist.y_test)}))
        arrays = [("taught", taught), ("fresh", fresh), ("mnist", mnist.x_test), ("mnist_labels", mnist.y_test)]
        if any(recipe.get("extra") for recipe in recipes):  # their replay is read from the images adapt.bin's came from
            count = json.loads((dist / "personal" / "adapt.json").read_text())["replay"]["count"]
            images, labels = replay_images(mnist, ExportConfig().replay_per_class)
            if len(labels) != count:
                raise click.ClickException(f"{dist}'s adapt.bin replays {count} digits, the export's config {len(labels)}")
            arrays += [("replay", images), ("replay_labels", labels)]
        for name, array in arrays:
            (work / f"{name}.u8").write_bytes(np.ascontiguousarray(array, np.uint8).tobytes())
        subprocess.run(["node", "--disable-warning=MODULE_TYPELESS_PACKAGE_JSON", str(SCRIPT), str(dist), str(work), str(node_modules)], check=True,
                       cwd=Path(__file__).resolve().parent.parent)
        return json.loads((work / "out.json").read_text()), fresh_labels


def described(recipe: dict) -> str:
    changes = [f"{key} {value}" for key, value in recipe.items() if SHIPPED.get(key) != value]
    return ", ".join(changes) or "the recipe before the search"


def scored(out: dict, fresh_labels: list[list[int]]) -> list[dict]:
    rows = []
    for result in out["results"]:
        each = [float(np.mean(shown_digits(np.asarray(w["fresh"])) == np.asarray(labels)))
                for w, labels in zip(result["writers"], fresh_labels)]
        drop = max(out["shipped_mnist"] - w["mnist"] for w in result["writers"])
        rows.append({"recipe": result["recipe"], "each": each, "mean": float(np.mean(each)), "worst": min(each),
                     "drop": drop, "learn_ms": max(w["learn_ms"] for w in result["writers"])})
    return rows


def choose(rows: list[dict]) -> dict:
    """The recipe chosen: the best worst writer, then the best mean, then the smallest MNIST drop, among
    those whose drop stays within DROP_CEILING (all of them if none does); rounded to a tenth of a point."""
    fits = [r for r in rows if r["drop"] <= DROP_CEILING]
    return max(fits or rows, key=lambda r: (round(r["worst"], 3), round(r["mean"], 3), -r["drop"]))


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--dist", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="A built site: its model and personal/ files.")
@click.option("--tag", required=True, help="Names the results file: personal_search_TAG.json.")
@click.option("--set", "set_name", type=click.Choice(list(SETS)), default="augment-replay-steps", show_default=True,
              help="The recipes to try, one of SETS.")
@click.option("--recipes", "recipes_file", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON list of recipes (js/adapt.js RECIPE's fields), instead of --set.")
@click.option("--seeds", default="1,2,3", show_default=True, help="Seeds of each tuning writer, comma-separated.")
@click.option("--node-modules", type=click.Path(exists=True, file_okay=False, path_type=Path),
              default=Path("node_modules"), show_default=True)
@click.option("--results-dir", type=click.Path(file_okay=False, path_type=Path), default=RESULTS / "experiments", show_default=True,
              help="Where the search's record goes: what was tried, listed in docs/experiments.md, not rendered into BENCHMARKS.md.")
@command_option("bench.search_personal")
def main(dist: Path, tag: str, set_name: str, recipes_file: Path | None, seeds: str, node_modules: Path, results_dir: Path,
         command_line: str | None):
    """Try recipes for learning a hand on the tuning writers; write bench/results/experiments/personal_search_TAG.json."""
    try:
        seed_list = [int(s) for s in seeds.split(",")]
        recipes = json.loads(recipes_file.read_text()) if recipes_file else SETS[set_name]
    except ValueError as error:
        raise click.BadParameter(f"{error}", param_hint="--seeds or --recipes") from error
    out, fresh_labels = run_recipes(dist, recipes, seed_list, node_modules)
    rows = scored(out, fresh_labels)
    chosen = choose(rows)
    columns = ["recipe (changes from the one before the search)", "fresh read right, mean %", "worst writer %",
               "each writer %", "MNIST drop, points (largest)", "learning, longest ms (node)", "chosen"]
    table_rows = [[described(r["recipe"]), round(100 * r["mean"], 1), round(100 * r["worst"], 1),
                   ", ".join(f"{100 * e:.0f}" for e in r["each"]), round(100 * r["drop"], 2), round(r["learn_ms"]),
                   "chosen" if r is chosen else None] for r in rows]
    notes = (f"Tuning writers only ({', '.join(TUNING)}; seeds {seeds}), {TAUGHT_PER_LABEL} taught and "
             f"{FRESH_PER_LABEL} fresh of each of ٢ ٣ ٤ ٧ ٨ each, drawn as the page renders them for the model; "
             f"learnt by js/adapt.js in node (tfjs {out['tfjs']}, {out['backend']}) on {dist}'s model; \"?\" counted "
             f"wrong. Shipped model on MNIST test: {100 * out['shipped_mnist']:.2f} %. Chosen: {described(chosen['recipe'])} "
             f"= {json.dumps(chosen['recipe'])}.")
    path = save_result(f"personal_search_{tag}", title=f"Choosing the recipe for learning a hand ({tag})",
                       command=command_line, columns=columns, rows=table_rows, notes=notes, results_dir=results_dir)
    click.echo(f"\n{table(columns, table_rows)}\n\n{notes}\n\nwrote {path}")


if __name__ == "__main__":
    main()
