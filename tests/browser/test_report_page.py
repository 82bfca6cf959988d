"""The model report page in headless Chromium: what it draws matches metrics.json and the tfjs evaluation."""

from __future__ import annotations

import io
import json
import shutil

import numpy as np
import pytest
from PIL import Image

from tests.browser.helpers import PageLog, serving


pytestmark = pytest.mark.browser

READY = 'body[data-ready="true"]'
CSP_VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) => window.__cspViolations.push(`${e.effectiveDirective} ${e.blockedURI}`));
"""


@pytest.fixture(scope="module")
def report_site(report_dist):
    """The built site (with the report) served under the sub-path; its URL."""
    with serving(report_dist) as url:
        yield url


@pytest.fixture(scope="module")
def metrics(evaluated_artifacts) -> dict:
    return json.loads((evaluated_artifacts / "metrics.json").read_text())


@pytest.fixture(scope="module")
def evaluation(evaluated_artifacts) -> dict:
    return json.loads((evaluated_artifacts / "tfjs" / "evaluation.json").read_text())


@pytest.fixture
def report_page(page, report_site):
    """report.html, loaded and drawn. At teardown: nothing left the origin, no uncaught error."""
    log = PageLog(page)
    console_errors = []  # e.g. "Failed to load resource" for a missing sprite
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    page.add_init_script(CSP_VIOLATIONS)
    page.goto(report_site + "report.html")
    page.wait_for_selector(READY)
    # The build's Content-Security-Policy (pipeline/build/webapp.py) lets everything the report does through.
    assert page.evaluate("window.__cspViolations") == []
    yield page
    assert log.outside(report_site) == [], "requests left the page's origin"
    assert log.errors == [], "uncaught errors in the page"
    assert console_errors == []


def test_curves_are_the_training_history(report_page, metrics):
    history = metrics["history"]
    assert len(history) == metrics["epochs"] >= 2
    for chart, metric in (("#loss-chart", "loss"), ("#accuracy-chart", "accuracy")):
        dots = report_page.eval_on_selector_all(
            f"{chart} circle",
            "cs => cs.map(c => ({series: c.dataset.series, x: +c.dataset.x, y: +c.dataset.y, cy: +c.getAttribute('cy'),"
            " shown: c.getBoundingClientRect().width > 0}))",
        )
        for key in (metric, f"val_{metric}"):
            series = [d for d in dots if d["series"] == key]
            assert [(d["x"], d["y"]) for d in series] == [(row["epoch"], row[key]) for row in history], key
            assert all(d["shown"] for d in series)
            # On screen, each dot's height is the same linear function of its value.
            (a, b), *_ = np.linalg.lstsq(np.c_[[d["y"] for d in series], np.ones(len(series))], [d["cy"] for d in series], rcond=None)
            assert a < 0, "larger values are drawn higher"
            for d in series:
                assert abs(a * d["y"] + b - d["cy"]) < 0.05
    # The same numbers as a table, for screen readers and for reading them off.
    rows = report_page.eval_on_selector_all("#history-table tbody tr", "rows => rows.map(r => [...r.cells].map(c => c.textContent))")
    keys = ("loss", "accuracy", "val_loss", "val_accuracy")
    assert rows == [[str(row["epoch"]), *(f"{row[k]:.4f}" for k in keys)] for row in history]


def test_confusion_matrix_is_the_evaluation_and_counts_every_test_digit(report_page, evaluation):
    cells = report_page.eval_on_selector_all(
        "#confusion td[data-true][data-pred]", "cs => cs.map(c => [c.dataset.true, c.dataset.pred, +c.textContent])"
    )
    columns = [*(str(d) for d in range(10)), "?"]  # the last: read as not a digit
    assert len(cells) == 110
    shown = np.zeros((10, 11), dtype=int)
    for t, p, count in cells:
        shown[columns.index(t), columns.index(p)] = count
    assert shown.tolist() == evaluation["confusion_matrix"]
    assert shown.sum() == 10000
    # Table semantics: a column header per predicted digit, a row header per true digit.
    assert report_page.locator('#confusion thead th[scope="col"]').count() == 12  # 10 digits, ? and recall
    assert report_page.locator('#confusion tbody th[scope="row"]').count() == 11  # 10 digits + precision
    # The colour scale: the fullest cell is shaded most, an empty one not at all.
    shade = report_page.eval_on_selector_all(
        "#confusion td[data-true]", "cs => cs.map(c => parseFloat(c.style.getPropertyValue('--shade')))"
    )
    counts = [c[2] for c in cells]
    assert shade[int(np.argmax(counts))] == 100 and min(shade) == 0 == shade[counts.index(0)]


def digits_shown(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(
        f"{selector} > li",
        "items => items.map(li => ({index: +li.dataset.index, true: +li.dataset.true,"
        " pred: li.dataset.pred === '?' ? 10 : +li.dataset.pred,"  # ?: read as not a digit, the 11th class
        " text: li.textContent, wrong: li.classList.contains('wrong')}))",
    )


def picture_of(locator) -> np.ndarray:
    """The element as the visitor sees it, as a 28×28 grey image (0–255)."""
    shot = Image.open(io.BytesIO(locator.screenshot())).convert("L")
    return np.asarray(shot.resize((28, 28), Image.Resampling.BOX), dtype=float)


def looks_like(picture: np.ndarray, image: np.ndarray) -> float:
    """Correlation of two 28×28 images."""
    return float(np.corrcoef(picture.ravel(), image.astype(float).ravel())[0, 1])


def assert_pictures_are(pictures: list[np.ndarray], indices: list[int], images: np.ndarray) -> None:
    """Each picture is the MNIST test image it claims: close to it (correlation > 0.8; a screenshot is
    rescaled and framed), and closer to it than to any other image shown beside it."""
    assert len(pictures) == len(indices) > 0, "one picture per digit shown"
    for picture, index in zip(pictures, indices, strict=True):
        scores = {other: looks_like(picture, images[other]) for other in indices}
        assert scores[index] > 0.8 and max(scores, key=scores.get) == index, f"test image {index}: {scores}"


def test_grid_shows_fifteen_test_digits_with_their_labels(report_page, evaluation, mnist):
    shown = digits_shown(report_page, "#grid")
    assert len(shown) == 15
    expected = {d["index"]: d for d in evaluation["sample"]}
    for item in shown:
        d = expected[item["index"]]
        assert (item["true"], item["pred"]) == (d["true"], d["predicted"]) and item["true"] == mnist.y_test[item["index"]]
        assert f"read as {d['predicted']}" in item["text"] and f"true {d['true']}" in item["text"]
        assert item["wrong"] == (d["true"] != d["predicted"])
    pictures = [picture_of(image) for image in report_page.locator("#grid .digit-image").all()]
    assert_pictures_are(pictures, [item["index"] for item in shown], mnist.x_test)
    # 3 rows of 5 on a desktop.
    tops = report_page.eval_on_selector_all("#grid > li", "items => items.map(li => Math.round(li.getBoundingClientRect().top))")
    assert len(set(tops)) == 3 and all(tops.count(t) == 5 for t in set(tops))


def test_mistakes_are_real_mistakes_of_the_shipped_model(report_page, report_site, evaluation, mnist):
    shown = digits_shown(report_page, "#mistakes")
    assert len(shown) == len(evaluation["mistakes"]) > 0
    for item in shown:
        assert item["wrong"] and item["true"] == mnist.y_test[item["index"]] != item["pred"]
    pictures = [picture_of(image) for image in report_page.locator("#mistakes .digit-image").all()]
    assert_pictures_are(pictures, [item["index"] for item in shown], mnist.x_test)
    confidences = report_page.eval_on_selector_all("#mistakes > li", "items => items.map(li => +li.dataset.confidence)")
    assert confidences == sorted(confidences, reverse=True)
    # The drawing page's own model reads each of these test images the way the report says.
    report_page.goto(report_site)
    report_page.wait_for_selector(READY)
    pixels = np.stack([mnist.x_test[item["index"]] for item in shown]).ravel().tolist()
    probabilities = report_page.evaluate("p => window.digitApp.predictMnistBatch(Uint8Array.from(p))", pixels)
    assert [int(np.argmax(p)) for p in probabilities] == [item["pred"] for item in shown]


def test_architecture_size_and_licence(report_page, evaluated_artifacts, metrics):
    arch = json.loads((evaluated_artifacts / "tfjs" / "architecture.json").read_text())
    rows = report_page.eval_on_selector_all("#architecture tbody tr", "rows => rows.map(r => r.innerText)")
    assert len(rows) == len(arch["layers"]) + 1
    for row, layer in zip(rows[:-1], arch["layers"], strict=True):
        shape = "(" + ", ".join("N" if d is None else str(d) for d in layer["output_shape"]) + ")"
        assert row.split("\t") == [layer["name"], layer["type"], shape, f"{layer['parameters']:,}"]
    assert rows[-1].split("\t")[-1] == f"{metrics['parameters']:,}"
    model_bytes = json.loads((evaluated_artifacts / "tfjs" / "export.json").read_text())["model_bytes"]
    assert report_page.text_content('[data-fact="model-bytes"]').startswith(f"{model_bytes / 1000:.0f} kB")
    accuracy = report_page.text_content('[data-fact="accuracy"]')
    assert accuracy == f"{100 * json.loads((evaluated_artifacts / 'tfjs' / 'export.json').read_text())['tfjs_test_accuracy']:.2f}%"
    footer = report_page.text_content("footer")
    assert "Yann LeCun and Corinna Cortes" in footer and "CC BY-SA 3.0" in footer


def test_report_follows_the_systems_dark_mode(page, report_site):
    page.emulate_media(color_scheme="dark")
    page.goto(report_site + "report.html")
    page.wait_for_selector(READY)
    assert page.eval_on_selector("body", "b => getComputedStyle(b).backgroundColor") == "rgb(18, 18, 18)"
    page.emulate_media(color_scheme="light")
    assert page.eval_on_selector("body", "b => getComputedStyle(b).backgroundColor") == "rgb(246, 246, 243)"


def test_build_without_evaluation_says_so_on_the_page(page, report_dist, tmp_path, serve):
    site = tmp_path / "dist"
    shutil.copytree(report_dist, site)
    (site / "report.json").write_text(json.dumps({"available": False, "reason": "evaluation.json missing: run `pipeline export` again"}))
    log = PageLog(page)
    page.goto(serve(site) + "report.html")
    status = page.wait_for_selector('#report-status[data-state="error"]')
    assert "run `pipeline export` again" in status.text_content()
    assert page.locator("#confusion td").count() == 0
    assert log.errors == []


HOSTILE = '"><img src=x onerror="document.title=1"></svg><h1>injected</h1>'  # markup in report.json's values


def test_markup_in_the_report_data_stays_text(page, report_dist, tmp_path, serve):
    """report.json's values are never parsed as markup: an epoch or a label holding HTML shows literally."""
    site = tmp_path / "dist"
    shutil.copytree(report_dist, site)
    report = json.loads((site / "report.json").read_text())
    report["history"][0]["epoch"] = HOSTILE
    report["labels"][3] = HOSTILE
    (site / "report.json").write_text(json.dumps(report))
    page.goto(serve(site) + "report.html")
    page.wait_for_selector(READY)
    assert page.locator("img").count() == 0 and page.locator("h1").count() == 1
    assert page.text_content("#history-table tbody tr th") == HOSTILE
    assert page.text_content('#confusion thead th[scope="col"]:nth-of-type(4)') == HOSTILE
    # The row whose epoch is not a number is left out of the charts; the others are drawn.
    xs = page.eval_on_selector_all('#loss-chart circle[data-series="loss"]', "cs => cs.map(c => c.dataset.x)")
    assert xs == [str(row["epoch"]) for row in report["history"][1:]]
