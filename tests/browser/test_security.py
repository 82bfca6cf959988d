"""Security and privacy: a strict CSP on every page, enforced with no violation while the page works, and no request off the origin."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
from html.parser import HTMLParser

import pytest

from pipeline.build.site import BuildError, build
from pipeline.build.webapp import page_policy
from tests.helpers import NODE_MODULES, quiet, ROOT
from tests.browser.helpers import draw_with_mouse, FOUR, PageLog, prediction_after, READY


pytestmark = pytest.mark.browser

# Recorded from the document's start: every CSP violation the page reports.
VIOLATIONS = """
window.__cspViolations = [];
document.addEventListener('securitypolicyviolation', (e) =>
  window.__cspViolations.push(`${e.effectiveDirective} blocked ${e.blockedURI || e.sample}`));
"""


class HeadParser(HTMLParser):
    """The <meta>/<link> attributes and <script> elements (attributes and text) of a page."""

    def __init__(self):
        super().__init__()
        self.metas, self.links, self.scripts = [], [], []
        self._script = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "meta":
            self.metas.append(attrs)
        elif tag == "link":
            self.links.append(attrs)
        elif tag == "script":
            self._script = {"attrs": attrs, "text": ""}

    def handle_data(self, data):
        if self._script is not None:
            self._script["text"] += data

    def handle_endtag(self, tag):
        if tag == "script" and self._script is not None:
            self.scripts.append(self._script)
            self._script = None


def parse_csp(policy: str) -> dict[str, list[str]]:
    return {name: sources for name, *sources in (d.split() for d in policy.split(";") if d.strip())}


def pages(dist):
    found = sorted(dist.rglob("*.html"))
    assert found, "the build renders pages"
    return found


def test_every_page_has_the_strict_csp(built_dist):
    for page in pages(built_dist):
        head = HeadParser()
        head.feed(page.read_text())
        (policy,) = [m["content"] for m in head.metas if m.get("http-equiv", "").lower() == "content-security-policy"]
        csp = parse_csp(policy)
        assert csp["default-src"] == ["'self'"]
        assert csp["connect-src"] == ["'self'"] and csp["worker-src"] == ["'self'"]
        assert csp["style-src"] == ["'self'"], page.name
        assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'self'"] and csp["form-action"] == ["'none'"]
        assert sorted(csp["img-src"]) == sorted(["'self'", "data:", "blob:"])
        script_src = csp["script-src"]
        assert script_src[:2] == ["'self'", "'wasm-unsafe-eval'"], page.name
        # Beyond those, only the hashes of the page's own import maps: no 'unsafe-inline', no 'unsafe-eval'.
        import_maps = [s["text"] for s in head.scripts if s["attrs"].get("type") == "importmap"]
        hashes = ["'sha256-" + base64.b64encode(hashlib.sha256(t.encode()).digest()).decode() + "'" for t in import_maps]
        assert script_src[2:] == hashes, page.name
    for name in ("index.html", "train.html", "report.html"):
        policy = parse_csp(re.search(r'Content-Security-Policy" content="([^"]+)"', (built_dist / name).read_text()).group(1))
        assert "'unsafe-eval'" not in policy["script-src"] and "'unsafe-inline'" not in policy["script-src"], name


def test_a_page_without_an_import_map_gets_the_bare_strict_policy():
    # page_policy is what the head partial (site_template/_head.html) writes for a page that imports no module.
    csp = parse_csp(page_policy(None))
    assert csp["script-src"] == ["'self'", "'wasm-unsafe-eval'"] and csp["style-src"] == ["'self'"]


def test_no_page_has_inline_script(built_dist):
    for page in pages(built_dist):
        head = HeadParser()
        head.feed(page.read_text())
        for script in head.scripts:
            if "src" not in script["attrs"]:
                assert script["attrs"].get("type") in ("importmap", "application/json"), (page.name, script)
        assert not re.search(r"\son[a-z]+\s*=", page.read_text()), f"{page.name}: inline event handler"


def test_every_page_links_the_manifest_and_the_offline_module(built_dist):
    manifest = json.loads((built_dist / "manifest.webmanifest").read_text())
    assert manifest["start_url"] == "." and manifest["scope"] == "." and manifest["display"] == "standalone"
    sizes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("512x512", "maskable")} <= sizes
    from PIL import Image

    for icon in manifest["icons"]:
        with Image.open(built_dist / icon["src"]) as image:
            assert f"{image.width}x{image.height}" == icon["sizes"] and image.format == "PNG"
    for page in pages(built_dist):
        head = HeadParser()
        head.feed(page.read_text())
        assert any(link.get("rel") == "manifest" and link["href"].endswith("manifest.webmanifest") for link in head.links)
        assert any(s["attrs"].get("src", "").endswith("js/offline.js") for s in head.scripts), page.name


# A page as a new page of the site starts: the head partial right after <meta charset>.
NEW_PAGE = ('<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n'
            '  {%- from "_head.html" import app_head with context %}\n  {{ app_head() }}\n  <title>TITLE</title>\n'
            "</head>\n<body>BODY</body>\n</html>\n")


def test_the_build_refuses_a_page_the_csp_would_break(trained_artifacts, tmp_path):
    template = tmp_path / "template"
    shutil.copytree(ROOT / "site_template", template)
    (template / "extra.html").write_text(NEW_PAGE.replace("TITLE", "x").replace("BODY", "<script>alert(1)</script>"))
    out = tmp_path / "dist"
    with pytest.raises(BuildError, match=r"extra.html: inline <script> .*Content-Security-Policy blocks it"):
        build(trained_artifacts, out, template, NODE_MODULES, log=quiet)
    assert not out.exists(), "nothing half-written"


def test_a_page_added_to_the_template_gets_csp_and_offline_from_the_head_partial(trained_artifacts, tmp_path):
    template = tmp_path / "template"
    shutil.copytree(ROOT / "site_template", template)
    (template / "about.html").write_text(NEW_PAGE.replace("TITLE", "About").replace("BODY", "<p>About</p>"))
    out = tmp_path / "dist"
    build(trained_artifacts, out, template, NODE_MODULES, log=quiet)
    html = (out / "about.html").read_text()
    head = HeadParser()
    head.feed(html)
    (policy,) = [m["content"] for m in head.metas if m.get("http-equiv") == "Content-Security-Policy"]
    assert parse_csp(policy)["script-src"] == ["'self'", "'wasm-unsafe-eval'"], "no import map, no exception"
    assert 'src="js/offline.js"' in html and 'rel="manifest"' in html
    assert '"about.html"' in (out / "sw.js").read_text(), "precached"


def test_the_build_refuses_a_page_without_the_head_partial(trained_artifacts, tmp_path):
    template = tmp_path / "template"
    shutil.copytree(ROOT / "site_template", template)
    (template / "about.html").write_text('<!doctype html>\n<html lang="en">\n<head>\n  <meta charset="utf-8">\n  <title>About</title>\n'
                                         "</head>\n<body><p>About</p></body>\n</html>\n")
    out = tmp_path / "dist"
    with pytest.raises(BuildError, match=r"about.html: 0 Content-Security-Policy <meta>s, not one: include the head partial"):
        build(trained_artifacts, out, template, NODE_MODULES, log=quiet)
    assert not out.exists(), "nothing half-written"


@pytest.mark.expected_browser_errors(r"^console\.error: Executing inline script violates the following Content Security Policy")  # the injected script
def test_no_csp_violation_or_console_error_while_loading_drawing_and_predicting(browser, site_url):
    context = browser.new_context()
    page = context.new_page()
    page.add_init_script(VIOLATIONS)
    log = PageLog(page)
    console_errors = []
    page.on("console", lambda message: message.type == "error" and console_errors.append(message.text))
    try:
        page.goto(site_url)
        page.wait_for_selector(READY)
        draw_with_mouse(page, FOUR)
        assert prediction_after(page, 2) == "4"
        probs = page.evaluate("window.digitApp.predictMnist(new Uint8Array(784))")
        assert len(probs) == 11  # the ten digits, then not a digit
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        assert page.evaluate("window.__cspViolations") == []
        assert console_errors == [] and log.errors == []
        # The policy is enforced, and the listener above does see violations: an injected inline script is refused.
        page.evaluate("() => { const s = document.createElement('script'); s.textContent = 'window.__ran = 1'; document.head.append(s); }")
        page.wait_for_function("() => window.__cspViolations.length === 1")
        assert page.evaluate("window.__cspViolations")[0].startswith("script-src")
        assert page.evaluate("window.__ran") is None
    finally:
        context.close()


def test_no_request_leaves_the_origin_and_the_models_worker_is_watched(browser, site_url):
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(site_url)
        page.wait_for_selector(READY)
        draw_with_mouse(page, FOUR)
        prediction_after(page, 2)
        page.wait_for_function("() => navigator.serviceWorker.controller !== null")
        # The log includes the worker's own requests (tfjs, wasm, model), so it would see one that left.
        paths = {url.removeprefix(site_url).split("?")[0] for url in log.requests}
        assert {"js/model-worker.js", "vendor/tfjs-digits.js", "vendor/tfjs-backend-wasm-simd.wasm", "model/model.json"} <= paths
        assert log.outside(site_url) == []
        script = page.request.get(site_url + "sw.js").text()
        for group in ("PAGE", "LAB"):  # [path, url, sha256] of every file the service worker may cache
            entries = json.loads(re.search(rf"const {group} = (\[.*?\]);", script).group(1))
            assert entries and not any(re.search(r"https?://|^/", path + url) for path, url, _ in entries)
    finally:
        context.close()


PROBE_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  {%- from "_head.html" import app_head with context %}
  {{ app_head(vendor=["tf.min.js", "tf-backend-wasm.min.js"]) }}
  <title>tfjs on the main thread</title>
  <script type="module" src="js/probe.js"></script>
</head>
<body></body>
</html>
"""
PROBE_MODULE = """
const out = {};
for (const name of ['wasm', 'cpu']) {
  try {
    if (name === 'wasm') tf.wasm.setWasmPaths('vendor/');
    await tf.setBackend(name);
    const model = await tf.loadGraphModel('model/model.json');
    out[name] = Array.from(await model.execute(tf.zeros([1, 28, 28, 1]), 'probabilities').data()).length;
  } catch (err) {
    out[name] = String(err.message || err);
  }
}
window.__probe = out;
"""


@pytest.mark.expected_browser_errors(  # no-prelude.html: tf.min.js's eval is refused, and the half-loaded bundle then fails
    r"^uncaught: Evaluating a string as JavaScript violates .*'unsafe-eval'",
    r"^uncaught: Cannot read properties of undefined \(reading 'RowPartitionType'\)$")
def test_a_page_running_tfjs_on_its_main_thread_works_under_the_csp(browser, trained_artifacts, tmp_path, serve):
    """Other pages (the lab) load tf.min.js themselves: the head partial puts js/tf-csp-prelude.js in front,
    and wasm and cpu then run with no CSP violation. Without the prelude, tf.min.js throws an eval error."""
    template = tmp_path / "template"
    shutil.copytree(ROOT / "site_template", template)
    (template / "probe.html").write_text(PROBE_PAGE)
    (template / "js" / "probe.js").write_text(PROBE_MODULE)
    out = tmp_path / "dist"
    build(trained_artifacts, out, template, NODE_MODULES, log=quiet)
    html = (out / "probe.html").read_text()
    assert re.search(r'<script src="js/tf-csp-prelude.js"></script>\s*<script src="vendor/tf.min.js\?v=\w+" defer>', html)
    (out / "no-prelude.html").write_text(html.replace('<script src="js/tf-csp-prelude.js"></script>', ""))
    url = serve(out)
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    page.add_init_script(VIOLATIONS)
    log = PageLog(page)
    try:
        page.goto(url + "probe.html")
        page.wait_for_function("() => window.__probe")
        assert page.evaluate("window.__probe") == {"wasm": 11, "cpu": 11}  # probabilities: ten digits, not a digit
        assert page.evaluate("window.__cspViolations") == [] and log.errors == []
        page.goto(url + "no-prelude.html")  # the control: the same page without the prelude breaks
        page.wait_for_function("() => window.__cspViolations.length > 0")
        assert any("unsafe-eval" in error for error in log.errors), log.errors
    finally:
        context.close()
