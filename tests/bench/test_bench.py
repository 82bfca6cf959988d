"""The benchmark suite: the report renders what the benchmarks write, and the benchmarks write it.

report.py is checked on hand-made results (exact tables, fixed order, malformed
files refused with one line); bench_train runs for real on a tiny MNIST subset
with the real converter; bench_page drives the real built site in Chromium with
small counts. No test here asserts a timing: the figures go to BENCHMARKS.md.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from click.testing import CliRunner

from bench import bench_nondigits, bench_numbers, bench_page, bench_personal, bench_train, hand, report
from bench.results_file import save_result
from pipeline.data import nondigits
from tests.helpers import ROOT


MACHINE = {"accelerator": "none", "chromium": "131.0"}


def sample_results(folder):
    """Three results written through the real save_result, created out of report order."""
    save_result("zeta", title="Zeta: something else", command="python -m bench.zeta", columns=["k", "v"],
                rows=[["a|b", None]], results_dir=folder)
    save_result("page", title="Page: latency", command="make bench-page",
                columns=["measure", "median (ms)", "n", "note"],
                rows=[["load → ready", 564.25, 10, "fresh context"], ["predict, wasm", 1.2, 200, None]],
                notes="headless Chromium", extra_machine=MACHINE, results_dir=folder)
    save_result("training", title="Training: throughput", command="make bench-train", columns=["measure", "value"],
                rows=[["images/s", 1234], ["time to 99.5% (s)", "not reached"]], results_dir=folder)


def test_report_renders_each_result_as_a_section_in_a_fixed_order(tmp_path):
    sample_results(tmp_path)
    text = report.render(report.load_results(tmp_path))
    assert text.startswith("# Benchmarks\n")
    assert "ratios" in text and "same run" in text  # the header says how to read comparisons
    headings = [line for line in text.splitlines() if line.startswith("## ")]
    assert headings == ["## Training: throughput", "## Page: latency", "## Zeta: something else",
                        "## GPU training (JAX backend): not measured yet"]  # no gpu_training result among them
    page = text[text.index("## Page: latency") : text.index("## Zeta")]
    save_result("gpu_training", title="GPU training", command="python -m bench.bench_gpu", columns=["x"], rows=[[1]],
                results_dir=tmp_path)
    assert "not measured yet" not in report.render(report.load_results(tmp_path))
    assert (
        "| measure | median (ms) | n | note |\n"
        "| --- | ---: | ---: | --- |\n"
        "| load → ready | 564.25 | 10 | fresh context |\n"
        "| predict, wasm | 1.2 | 200 | – |\n"
    ) in page
    record = json.loads((tmp_path / "page.json").read_text())
    assert "headless Chromium" in page
    assert "- Command: `make bench-page`" in page
    assert f"{record['machine']['cores']} cores" in page and f"load average {record['machine']['load_average_1m']}" in page
    assert "accelerator: none; chromium: 131.0" in page
    assert f"- Measured: {record['measured_at']}" in page
    assert "| images/s | 1,234 |" in text and "| a\\|b | – |" in text
    assert "- [Page: latency](#page-latency)" in text


def test_report_output_does_not_depend_on_the_order_files_were_written(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    sample_results(first)
    second.mkdir()
    for path in sorted(first.glob("*.json"), reverse=True):
        shutil.copy(path, second / path.name)
    assert report.render(report.load_results(first)) == report.render(report.load_results(second))


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "expected a JSON object"),
        ({"drop": "rows"}, "missing field 'rows'"),
        ({"columns": "measure"}, "field 'columns' should be list"),
        ({"rows": [["only one cell"]]}, "row 1 should be a list of 2 cells"),
        ({"name": "other"}, "does not match the file name"),
    ],
)
def test_report_refuses_a_malformed_result_with_one_line_and_writes_nothing(tmp_path, content, problem):
    results, out = tmp_path / "results", tmp_path / "BENCHMARKS.md"
    save_result("good", title="Good", command="c", columns=["a", "b"], rows=[[1, 2]], results_dir=results)
    if isinstance(content, dict):
        record = json.loads((results / "good.json").read_text())
        record.pop(content.pop("drop", None), None)
        content = json.dumps({**record, **content})
    (results / "good.json").write_text(content)
    out.write_text("previous report\n")

    result = CliRunner().invoke(report.main, ["--results", str(results), "--out", str(out)])

    assert result.exit_code != 0
    [line] = result.output.strip().splitlines()
    assert line.startswith(f"Error: {results / 'good.json'}: ") and problem in line, line
    assert out.read_text() == "previous report\n"


def test_report_cli_writes_the_markdown_file(tmp_path):
    sample_results(tmp_path / "results")
    out = tmp_path / "BENCHMARKS.md"
    result = CliRunner().invoke(report.main, ["--results", str(tmp_path / "results"), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text() == report.render(report.load_results(tmp_path / "results"))


def test_committed_benchmarks_md_is_the_rendering_of_the_committed_results():
    results = report.load_results(ROOT / "bench" / "results")  # also checks every committed result is well formed
    assert (ROOT / "BENCHMARKS.md").read_text() == report.render(results), "BENCHMARKS.md is stale: make bench-report"


# ------------------------------------------------------------ the benchmarks themselves


def test_page_rows_compare_backends_to_wasm_and_check_the_latency_ceilings():
    stats = lambda median: {"median_ms": median, "p90_ms": median * 2, "n": 5}  # noqa: E731
    rows = bench_page.latency_rows(
        stats(600.0), {"update": stats(3.0), "frame": stats(60.0), "paint": stats(12.0)},
        {"wasm": {"backend": "wasm", **stats(1.5)}, "cpu": {"backend": "cpu", **stats(30.0)},
         "webgl": {"error": "no WebGL"}},
        {"update": stats(3.0), "frame": stats(60.0), "paint": stats(17.0)},
    )
    by_name = {row[0]: row for row in rows}
    assert by_name["pen-up event → painted, device pixel ratio 1"][1:] == [12.0, 24.0, 5, None, None]
    assert by_name["pen-up event → painted, device pixel ratio 2"][5] == "≤ 16 ms (MISSED)"
    assert by_name["pen-up → prediction shown (next frame)"][5] == "≤ 50 ms (MISSED)"
    assert by_name["predictMnist alone, wasm"][4:] == [1.0, "≤ 2 ms (met)"]
    assert by_name["predictMnist alone, cpu"][4] == 20.0
    assert by_name["predictMnist alone, webgl: unavailable (no WebGL)"][1:4] == [None, None, 0]


def test_bench_train_export_only_needs_a_trained_model(tmp_path):
    result = CliRunner().invoke(bench_train.main, ["--export-only", "--artifacts", str(tmp_path)])
    assert result.exit_code != 0
    assert result.output.strip() == f"Error: {tmp_path}: no model.keras and metrics.json; --export-only needs a trained model"
    assert not (tmp_path / "tfjs").exists()


@pytest.mark.slow
def test_bench_train_smoke_writes_valid_training_and_export_results(tmp_path):
    results, artifacts = tmp_path / "results", tmp_path / "artifacts"
    result = CliRunner().invoke(
        bench_train.main, ["--smoke", "--artifacts", str(artifacts), "--results-dir", str(results)]
    )
    assert result.exit_code == 0, result.output
    loaded = {r["name"]: r for r in report.load_results(results)}
    assert sorted(loaded) == ["export", "training", "training-epochs"]

    metrics = json.loads((artifacts / "metrics.json").read_text())
    training = {row[0]: row[1] for row in loaded["training"]["rows"]}
    assert training["training throughput, first epoch (with compilation)"] > 0
    assert training["test accuracy after the last epoch"] == round(metrics["test_accuracy"] * 100, 2)
    assert "Not the default config: epochs=1" in loaded["training"]["notes"]
    assert f"1 epoch of {metrics['train_images']:,} training images" in loaded["training"]["notes"]  # what it trained on
    # The epoch's accuracy is the model's as trained; the bench exits 1 unless its predictions, calibrated as
    # training calibrates them (temperature, prior of "not a digit"), score train()'s figure (exit code 0 above).
    [epoch] = loaded["training-epochs"]["rows"]
    assert epoch[0] == 1 and 0 < epoch[3] <= 100

    [uint8] = loaded["export"]["rows"]
    tfjs = artifacts / "tfjs"
    assert uint8[0] == "uint8"
    assert uint8[2] == sum(f.stat().st_size for f in [tfjs / "model.json", *tfjs.glob("group*.bin")])
    assert 98 <= uint8[4] <= 100
    assert loaded["export"]["machine"]["keras_backend"] == "tensorflow"
    assert "## Export: time and size per quantization" in report.render(list(loaded.values()))


@pytest.mark.browser
def test_bench_page_measures_the_built_site(built_dist, tmp_path):
    results = tmp_path / "results"
    args = ["--dist", str(built_dist), "--results-dir", str(results), "--loads", "1", "--strokes", "2",
            "--predicts", "5", "--backend", "wasm", "--no-accuracy"]
    # In a subprocess: Playwright's sync API refuses to start inside the event loop that the
    # browser tests' pytest-playwright fixtures leave running in this process.
    result = subprocess.run([sys.executable, "-m", "bench.bench_page", *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    loaded = {r["name"]: r for r in report.load_results(results)}
    assert sorted(loaded) == ["page", "page-size"]
    page = {row[0]: row for row in loaded["page"]["rows"]}
    assert page["page load → ready (fresh context)"][3] == 1
    assert page["pen-up → prediction shown (next frame)"][3] == 2
    painted = {dpr: page[f"pen-up event → painted, device pixel ratio {dpr}"] for dpr in (1, 2)}
    assert painted[1][3] == painted[2][3] == 2 and painted[2][1] > 0
    # the same strokes: painted (from the event) comes after the attribute is set (from the capture handler)
    assert painted[1][1] >= page["pen-up → prediction (attribute set)"][1]
    assert page["predictMnist alone, wasm"][1] > 0 and page["predictMnist alone, wasm"][4] == 1.0
    sizes = {row[0]: row[1] for row in loaded["page-size"]["rows"]}
    assert sizes["dist/ (the whole site)"] == sum(f.stat().st_size for f in built_dist.rglob("*") if f.is_file())


def test_bench_network_view_times_updates_and_frames_on_the_built_site(built_dist, tmp_path):
    results = tmp_path / "results"
    args = ["--dist", str(built_dist), "--results-dir", str(results), "--digits", "3", "--moves", "20"]
    result = subprocess.run([sys.executable, "-m", "bench.network_view", *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    (loaded,) = report.load_results(results)
    ((update, update_p90, frame, frame_p90, ceilings),) = loaded["rows"]
    assert 0 < update <= update_p90 and 0 < frame <= frame_p90 and ceilings.startswith("update ")
    assert "3 digits" in loaded["notes"]


def test_numbers_rows_count_exact_reads_per_length_and_time_only_four_digit_numbers():
    result = lambda true, shown, ms: {"true": true, "shown": shown, "update_ms": ms / 2, "frame_ms": ms}  # noqa: E731
    rows = bench_numbers.rows_of([result("12", "12", 5), {**result("345", "845", 6), "originals": ["3"]},
                                  result("2026", "2026", 30), {**result("1111", "?1?1", 40), "originals": ["1", "7"]},
                                  result("7041", "7041", 50), result("90", "9", 8)])  # 9 and 0 read as one
    by_name = {row[0]: row for row in rows}
    # three digits misread, two of them read right from MNIST's own image; "90" read as one digit has no places
    assert by_name["digits misread in a number, read right from their own MNIST image"][1:3] == ["2/3", 66.7]
    assert bench_numbers.misread_places({"true": "1111", "shown": "?1?1"}) == [0, 2]
    assert bench_numbers.misread_places({"true": "90", "shown": "9"}) == []
    assert by_name["2-digit numbers read exactly"][1:3] == ["1/2", 50.0]
    assert by_name["3-digit numbers read exactly"][1:3] == ["0/1", 0.0]
    assert by_name["all numbers read exactly"][1:] == ["3/6", 50.0, None, "≥ 95%"]
    assert by_name["pen-up → 4-digit number shown (next frame), median ms"][1:3] == [3, 40.0]


@pytest.mark.browser
def test_bench_numbers_writes_numbers_on_the_built_site(built_dist, tmp_path):
    results = tmp_path / "results"
    args = ["--dist", str(built_dist), "--results-dir", str(results), "--numbers", "10"]
    result = subprocess.run([sys.executable, "-m", "bench.bench_numbers", *args], cwd=ROOT, capture_output=True, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})  # a subprocess: see test_bench_page_measures_the_built_site
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [numbers] = report.load_results(results)
    rows = {row[0]: row for row in numbers["rows"]}
    read, written = map(int, rows["all numbers read exactly"][1].split("/"))
    assert written == 10 and read >= 7  # the 2-epoch test model; the 95 % floor is the bench's to report
    right, misread = map(int, rows["digits misread in a number, read right from their own MNIST image"][1].split("/"))
    assert right <= misread <= 4 * (written - read)
    assert rows["pen-up → 4-digit number shown (next frame), median ms"][2] > 0


def test_nondigit_rows_count_question_marks_per_source_and_digits_read_right():
    others = [{"kind": name, "group": "held out", "shown": "?" if i else "4"} for name in nondigits.HELD_OUT
              for i in range(10)]
    others += [{"kind": "feather-icons", "group": "trained", "shown": "?" if i < 3 else "7"} for i in range(5)]
    digits = [{"index": i, "true": "3", "shown": "3"} for i in range(97)] + [{"index": 97, "true": "5", "shown": "?"},
                                                                          {"index": 98, "true": "5", "shown": "6"},
                                                                          {"index": 99, "true": "7", "shown": "7"}]
    rows = {row[0]: row for row in bench_nondigits.rows_of({"others": others, "digits": digits})}
    assert rows["non-digits never trained on: hershey-cyrillic (other scripts), shown as ?"][1:] == ["9/10", 90.0, "≥ 85%"]
    total = 10 * len(nondigits.HELD_OUT)
    assert rows["all non-digits never trained on, shown as ?"][1:] == [f"{total - len(nondigits.HELD_OUT)}/{total}", 90.0, "≥ 92%"]
    assert rows["new samples of a trained source: feather-icons (icons), shown as ?"][1:] == ["3/5", 60.0, None]
    assert rows["MNIST test digits drawn alone, read right (? counted wrong)"][1:] == ["98/100", 98.0, "≥ 99%"]
    assert rows["MNIST test digits drawn alone, answered ?"][1:] == ["1/100", 1.0, "≤ 1%"]


@pytest.mark.browser
def test_bench_nondigits_draws_on_the_built_site(built_dist, tmp_path):
    results = tmp_path / "results"
    args = ["--dist", str(built_dist), "--results-dir", str(results), "--per-source", "1", "--per-trained", "0",
            "--digits", "10"]
    result = subprocess.run([sys.executable, "-m", "bench.bench_nondigits", *args], cwd=ROOT, capture_output=True,
                            text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    [written] = report.load_results(results)
    rows = {row[0]: row for row in written["rows"]}
    assert rows["all non-digits never trained on, shown as ?"][1].endswith(f"/{len(nondigits.HELD_OUT)}")
    right, drawn = map(int, rows["MNIST test digits drawn alone, read right (? counted wrong)"][1].split("/"))
    assert drawn == 10 and right >= 8  # the 2-epoch test model; the floors are the bench's to report


def test_personal_rows_report_held_out_and_tuning_writers_apart_with_forgetting_and_time():
    from bench.numerals import HELD_OUT, TUNING

    first = {"writer": TUNING[0], "before": 0.9952, "after": 0.9931, "first_read": [False] * 5 + [True] * 20,
             "fresh": [(label, str(label) if i else "1") for label in (2, 3, 4, 7, 8) for i in range(20)],  # a miss each
             "shipped_fresh": [False] * 100, "digits": [(3, "3")] * 97 + [(5, "6")] * 3,
             "adapt_ms": [900.0, 1100.0, 1500.0], "frame_gap_ms": [16.0, 17.0, 33.0]}
    second = {**first, "writer": HELD_OUT[0], "after": 0.9941, "digits": [], "adapt_ms": [1300.0],
              "fresh": [(label, str(label) if i > 3 else "?") for label in (2, 3, 4, 7, 8) for i in range(20)]}
    third = {**second, "writer": HELD_OUT[1], "fresh": [(label, str(label)) for label in (2, 3, 4, 7, 8) for i in range(20)],
             "adapt_ms": [], "frame_gap_ms": []}
    by_name = {row[0]: row for row in bench_personal.rows_of([first, second, third])}
    assert by_name["held-out writers (2): fresh numerals read right after teaching, mean"][1:] == ["180/200", 90.0, "≥ 95%"]
    assert by_name["  held-out writers: the worst"][1:] == ["80/100", 80.0, "≥ 90%"]
    assert by_name[f"  held-out: {HELD_OUT[1]}"][1:3] == ["100/100", 100.0]
    assert by_name["  held-out: ٧ (taught as 7)"][1:3] == ["36/40", 90.0]
    assert by_name["tuning writers (1): fresh numerals read right after teaching, mean"][1:3] == ["95/100", 95.0]
    assert f"  tuning: {TUNING[0]}" in by_name and f"  held-out: {TUNING[0]}" not in by_name
    assert by_name["the same fresh numerals, read by the shipped model, all writers"][1:3] == ["0/300", 0.0]
    assert by_name["drop, points"][2] == 0.21  # the largest of the writers' drops
    assert by_name[f"MNIST test digits drawn with the mouse, the first writer's personal model ({TUNING[0]})"][1:3] == \
        ["97/100", 97.0]
    adapt = by_name["one adaptation, tap → personal model in use, median ms (p90)"]
    assert adapt[1:3] == [4, 1200.0] and adapt[3].endswith("max 1500.0)")


def test_lab_variants_shift_like_the_page_and_count_the_pages_model():
    import numpy as np

    from bench import lab_variants

    image = np.zeros((1, 28, 28, 1), np.float32)
    image[0, 10:18, 13] = 1  # a bar with room to move
    rng = np.random.default_rng(0)
    moved = [lab_variants.shifted(image, 1, rng)[0, ..., 0] for _ in range(60)]
    offsets = {(int(np.argwhere(m)[0][1]) - 13, int(np.argwhere(m)[0][0]) - 10) for m in moved}
    assert offsets == {(dx, dy) for dx in (-1, 0, 1) for dy in (-1, 0, 1)} and all(m.sum() == 8 for m in moved)
    model = lab_variants.build(lab_variants.VARIANTS["page"])
    assert model.count_params() == 20_746, "the page's model, as js/train/model.js documents it"


def test_page_accuracy_rows_count_a_question_mark_as_wrong_against_the_accuracy_floors():
    in_page = {"backend": "wasm", "images": 10000, "accuracy": 0.996, "digit_accuracy": 0.9955, "shown_right": 0.9948,
               "ece": 0.004}
    rows = {row[0].split(" (")[0]: row for row in bench_page.accuracy_rows(in_page, {})}
    assert rows["the same, the likeliest of the ten digits"][1:] == [10000, 99.55]
    assert rows["the same, a ? counted wrong: the page shows the digit"][1:] == [10000, 99.48]
    assert "MISSED" in next(name for name in (r[0] for r in bench_page.accuracy_rows(in_page, {})) if "? counted" in name)
    assert rows["the same, calibration error"][1:] == [10000, 0.4]
