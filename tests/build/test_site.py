"""The build: a complete static site with relative URLs only, nothing from another origin."""

import base64
import hashlib
import json
import re
import shutil
from html.parser import HTMLParser

import pytest

from pipeline.build.site import BuildError, build, check_model_shape
from tests.helpers import NODE_MODULES, quiet, ROOT



class UrlCollector(HTMLParser):
    """Every src/href/content URL in an HTML document."""

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if name in ("src", "href") and value:
                self.urls.append((tag, value))


def test_dist_has_everything_the_page_needs(built_dist):
    for rel in ["index.html", ".nojekyll", "metrics.json", "model/model.json", "vendor/tfjs-digits.js",
                "vendor/tfjs-digits-cpu.js", "vendor/tf.min.js", "vendor/tf-backend-wasm.min.js", "vendor/tfjs-backend-wasm-simd.wasm", "js/main.js"]:
        assert (built_dist / rel).is_file(), rel
    assert list((built_dist / "model").glob("*.bin"))
    metrics = json.loads((built_dist / "metrics.json").read_text())
    assert 0.9 < metrics["test_accuracy"] <= 1 and metrics["model_bytes"] > 0


def test_every_url_is_relative_and_same_origin(built_dist):
    html = (built_dist / "index.html").read_text()
    collector = UrlCollector()
    collector.feed(html)
    assert collector.urls, "the page references its assets"
    for tag, url in collector.urls:
        if tag == "a" and url.startswith("https://"):
            continue  # plain links (licence, source) are navigation, not requests
        assert not url.startswith(("/", "http:", "https:", "//")), f"{tag} {url} is not relative"
        assert (built_dist / url.split("?")[0].split("#")[0]).exists(), f"{url} is not in dist/"
    for js in (built_dist / "js").glob("*.js"):
        assert not re.search(r"""(fetch|import)\s*\(?\s*['"`](https?:)?//""", js.read_text()), js.name


def test_page_config_is_rendered_for_the_scripts(built_dist):
    html = (built_dist / "index.html").read_text()
    match = re.search(r'<script type="application/json" id="app-config">(.*?)</script>', html, re.S)
    config = json.loads(match.group(1))
    assert config["imageSize"] == 28 and config["numClasses"] == 11 and config["fitSize"] == 20  # 10 digits, not a digit
    assert config["modelUrl"] == "model/model.json" and config["modelOutputs"] == ["probabilities", "features"]
    assert config["adaptUrl"] == "personal/adapt.json" and (built_dist / config["adaptDataUrl"]).is_file()
    assert re.fullmatch(r"[0-9a-f]{16}", config["featuresVersion"])


def test_build_replaces_the_site_whole(trained_artifacts, tmp_path):
    out = tmp_path / "dist"
    build(trained_artifacts, out, ROOT / "site_template", NODE_MODULES, log=quiet)
    assert (out / ".pipeline-build").is_file(), "the build marks its folder as one it may replace"
    (out / "stale.txt").write_text("from an old build")
    build(trained_artifacts, out, ROOT / "site_template", NODE_MODULES, log=quiet)
    assert not (out / "stale.txt").exists() and (out / "index.html").is_file()
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no staging folder left"


def test_missing_artefacts_are_named(tmp_path):
    with pytest.raises(BuildError, match=r"tfjs/model.json: missing \(run `pipeline export` first\)"):
        build(tmp_path, tmp_path / "dist", ROOT / "site_template", NODE_MODULES, log=quiet)
    assert not (tmp_path / "dist").exists()


def test_model_with_the_wrong_shape_is_refused(trained_artifacts, tmp_path):
    model_json = json.loads((trained_artifacts / "tfjs" / "model.json").read_text())
    out = model_json["signature"]["outputs"]["probabilities"]
    out["tensorShape"]["dim"][-1]["size"] = "26"  # e.g. a letters model
    path = tmp_path / "model.json"
    path.write_text(json.dumps(model_json))
    with pytest.raises(BuildError, match=r"model maps \[-1, 28, 28, 1\] -> \[-1, 26\], the page needs"):
        check_model_shape(path)
    check_model_shape(trained_artifacts / "tfjs" / "model.json")  # the real one fits


def test_every_page_links_to_every_page_and_partials_are_not_shipped(built_dist):
    pages = ["index.html", "train.html", "report.html", "network.html"]
    for page in pages:
        html = (built_dist / page).read_text()
        nav = html[html.index('<nav class="site-nav"'):html.index("</nav>")]
        assert all(f'href="{href}"' in nav for href in ("./", *pages[1:])), page
        assert nav.count('aria-current="page"') == 1, page
    assert not list(built_dist.rglob("_*.html")), "Jinja partials are not pages"


def test_the_service_worker_precaches_the_model_the_page_loads(built_dist):
    """The drawing page must read a drawing offline after one visit: the model its config names, every weight
    file that model lists and the runtime the worker starts are in sw.js's page group, installed with it."""
    script = (built_dist / "sw.js").read_text()
    page = {path for path, _, _ in json.loads(re.search(r"const PAGE = (\[.*?\]);", script).group(1))}
    html = (built_dist / "index.html").read_text()
    config = json.loads(re.search(r'<script type="application/json" id="app-config">(.*?)</script>', html, re.S).group(1))
    model_url = config["modelUrl"]
    model = json.loads((built_dist / model_url).read_text())
    folder = model_url.rsplit("/", 1)[0]
    weights = {f"{folder}/{path}" for group in model["weightsManifest"] for path in group["paths"]}
    assert weights and {model_url, *weights} <= page
    assert {"vendor/tfjs-digits.js", "vendor/tfjs-backend-wasm-simd.wasm"} <= page


def test_the_footer_gives_the_accuracy_the_report_gives_of_the_model_the_page_runs(built_dist):
    report = json.loads((built_dist / "report.json").read_text())
    footer = re.search(r"Test accuracy ([\d.]+)&nbsp;%", (built_dist / "index.html").read_text()).group(1)
    assert footer == f"{100 * report['evaluation']['accuracy']:.2f}", "the TensorFlow.js model's, as report.html says"


def test_a_module_the_drawing_page_starts_to_import_is_in_its_import_map(trained_artifacts, tmp_path):
    """No list of modules to keep: one that js/main.js starts to import, and one that it imports in turn by import(),
    are in the built index.html's import map with the build's ?v=, the very URL the service worker precaches them
    under (a first visit fetches each once); the model worker and its modules are not (an import map does not reach
    a worker), and the policy hashes the new map."""
    template = tmp_path / "template"
    shutil.copytree(ROOT / "site_template", template)
    main = template / "js" / "main.js"
    main.write_text("import { later } from './fresh.js';\n" + main.read_text() + "later();\n")
    (template / "js" / "fresh.js").write_text("export const later = () => import('./fresh-later.js');\n")
    (template / "js" / "fresh-later.js").write_text("export const x = 1;\n")
    out = tmp_path / "dist"
    build(trained_artifacts, out, template, NODE_MODULES, log=quiet)
    html = (out / "index.html").read_text()
    version = re.search(r'<meta name="asset-version" content="([0-9a-f]+)">', html).group(1)
    text = re.search(r'<script type="importmap">(.*?)</script>', html, re.S).group(1)
    imports = json.loads(text)["imports"]
    assert imports["./js/fresh.js"] == f"./js/fresh.js?v={version}"
    assert imports["./js/fresh-later.js"] == f"./js/fresh-later.js?v={version}"
    assert not {"./js/main.js", "./js/model-worker.js", "./js/adapt.js", "./js/webgl.js"} & imports.keys()
    precached = {path: url for path, url, _ in json.loads(re.search(r"const PAGE = (\[.*?\]);", (out / "sw.js").read_text()).group(1))}
    assert precached["js/fresh.js"] == imports["./js/fresh.js"].removeprefix("./")
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    assert f"'sha256-{digest}'" in re.search(r'Content-Security-Policy" content="([^"]+)"', html).group(1)
