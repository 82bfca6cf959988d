"""A light first visit: what the drawing page, its model worker and its service worker download, counted where
it leaves the server (gzip as GitHub Pages serves it), the lab cached only when it is opened, and a service
worker that refuses a file the build did not write.

Bytes are counted by the test server (pipeline/tools/serve.py records every response it sends, headers
included), not in the browser: it sees the page, its dedicated worker and its service worker alike, with
no DevTools target to attach per worker, and an HTTP-cache hit, which costs no network, never reaches it.
"""

from __future__ import annotations

import shutil
from collections import Counter

import pytest

from pipeline.build.webapp import content_hash, precache_files
from pipeline.tools.serve import serve_in_background
from tests.browser.helpers import another_build, draw_with_mouse, ONE, PageLog, prediction_after, READY, SEVEN, SUB_PATH

pytestmark = pytest.mark.browser

BUDGET_BYTES = 600_000  # the light-first-visit budget: the drawing page's first visit, gzip as GitHub Pages serves it
VIEW_BUDGET_BYTES = 300_000  # what opening the network view adds to it, offline use included
OFFLINE_READY = 'html[data-offline="ready"]'  # js/offline.js: controlled, and this page's files cached
LAB_READY = 'body:not([data-state="loading"])'  # train.html has its data and a backend
# Asks for an update and follows the new service worker to where it ends: redundant (refused) or activated.
UPDATE_OUTCOME = """async () => {
  const registration = await navigator.serviceWorker.getRegistration();
  await registration.update();
  const worker = registration.installing;
  if (!worker) return 'no new worker';
  const ended = () => ['redundant', 'activated'].includes(worker.state);
  if (!ended()) await new Promise((done) => worker.addEventListener('statechange', () => ended() && done()));
  return worker.state;
}"""
CACHED_PATHS = """async () => {
  const keys = [];
  for (const name of await caches.keys()) for (const request of await (await caches.open(name)).keys()) keys.push(request.url);
  return keys;
}"""


@pytest.fixture
def served(tmp_path):
    """serve(folder) -> (server, url): the folder served under SUB_PATH like `site_url`, with the server's log."""
    servers = []

    def serve(root):
        server, url = serve_in_background(root, base=SUB_PATH)
        servers.append(server)
        return server, url

    yield serve
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_first_visit_fits_the_budget_and_fetches_every_file_once(browser, built_dist, served):
    server, url = served(built_dist)
    context = browser.new_context()  # empty HTTP cache, no service worker
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(url)
        page.wait_for_selector(READY)
        page.wait_for_selector(OFFLINE_READY)  # the service worker has precached the page's files
        draw_with_mouse(page, SEVEN)
        assert prediction_after(page, 1) == "7"
        sent = list(server.sent)
        paths = [s.path.removeprefix(SUB_PATH).split("?")[0] for s in sent]
        total = sum(s.bytes for s in sent)
        print(f"first visit: {total:,} bytes in {len(sent)} responses")  # the figure BENCHMARKS.md reports
        assert [path for path, n in Counter(paths).items() if n > 1] == [], "fetched twice (a ?v= query does not count)"
        assert all(s.status == 200 for s in sent), sent
        assert total <= BUDGET_BYTES, f"{total:,} bytes: {sorted(sent, key=lambda s: -s.bytes)[:5]}"
        assert {"", "vendor/tfjs-digits.js", "vendor/tfjs-backend-wasm-simd.wasm", "model/model.json", "sw.js"} <= set(paths)
        lab = [p for p in paths if p.startswith(("data/", "vendor/tf.min.js", "train.html", "report", "network"))]
        assert lab == [], "the lab's files come when the lab is opened"
        assert not [p for p in paths if p.startswith("personal/")], "what learning a hand needs comes at the first correction"
        assert log.errors == []
    finally:
        context.close()


@pytest.mark.parametrize(("name", "ready"), [("train.html", LAB_READY), ("report.html", READY),
                                           ("network.html", '#network[data-ready="true"]')])
def test_a_first_visit_to_a_lab_page_fetches_every_module_once(browser, built_dist, served, name, ready):
    """Opened first, each lab page fetches every module it imports by the URL its import map gives, the one the
    service worker caches the lab under: no module comes down twice."""
    server, url = served(built_dist)
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(url + name)
        page.wait_for_selector(ready, timeout=60_000)
        page.wait_for_selector(OFFLINE_READY)
        paths = [s.path.removeprefix(SUB_PATH).split("?")[0] for s in server.sent]
        modules = [path for path in paths if path.startswith("js/")]
        assert name in paths and len(set(modules)) >= 4
        assert [path for path, n in Counter(modules).items() if n > 1] == [], "fetched twice (a ?v= query does not count)"
        assert log.errors == []
    finally:
        context.close()


def test_the_network_view_adds_at_most_its_budget_and_not_the_lab(browser, built_dist, served):
    """After the drawing page's first visit, opening network.html downloads its own files and data (cached for offline
    use with them), within VIEW_BUDGET_BYTES, and none of the lab's (training data, tf.min.js, charts)."""
    server, url = served(built_dist)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(READY)
        page.wait_for_selector(OFFLINE_READY)
        start = len(server.sent)
        page.goto(f"{url}network.html")
        page.wait_for_selector('#network[data-ready="true"]')
        page.wait_for_selector(OFFLINE_READY)
        sent = list(server.sent)[start:]
        paths = {s.path.removeprefix(SUB_PATH).split("?")[0] for s in sent}
        total = sum(s.bytes for s in sent)
        print(f"network view: {total:,} bytes in {len(sent)} responses")
        assert {"network.html", "network/network.json", "network/network.png", "js/network/main.js"} <= paths
        assert total <= VIEW_BUDGET_BYTES, f"{total:,} bytes: {sorted(sent, key=lambda s: -s.bytes)[:5]}"
        assert not [p for p in paths if p.startswith(("data/", "vendor/tf.min.js", "train.html"))]
        assert all(s.status == 200 for s in sent), sent
    finally:
        context.close()


def test_the_lab_is_cached_when_opened_and_then_works_offline(browser, built_dist, served):
    _, url = served(built_dist)
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(url)
        page.wait_for_selector(OFFLINE_READY)
        assert not any("/data/" in key or key.endswith("train.html") for key in page.evaluate(CACHED_PATHS))
        for lab_page, ready in (("train.html", LAB_READY), ("report.html", READY)):
            page.goto(url + lab_page)
            page.wait_for_selector(ready, timeout=60_000)
            page.wait_for_selector(OFFLINE_READY)  # the lab's files are in the cache now
        assert any(key.endswith("data/train-images.png") for key in page.evaluate(CACHED_PATHS))
        context.set_offline(True)
        page.goto(url + "train.html")
        page.wait_for_selector(LAB_READY, timeout=60_000)
        assert page.get_attribute("body", "data-state") == "idle", page.text_content("#status")
        page.goto(url + "report.html")
        page.wait_for_selector(READY)
        page.goto(url)
        page.wait_for_selector(READY)
        draw_with_mouse(page, ONE)
        assert prediction_after(page, 1) == "1"
        assert log.errors == []
    finally:
        context.close()


def test_an_update_caches_the_lab_again_where_it_was_cached(browser, built_dist, trained_artifacts, tmp_path, served):
    dist_b = another_build(trained_artifacts, tmp_path)
    root = tmp_path / "served"
    shutil.copytree(built_dist, root)
    _, url = served(root)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url + "train.html")
        page.wait_for_selector(OFFLINE_READY)
        shutil.rmtree(root)
        shutil.copytree(dist_b, root)
        assert page.evaluate(UPDATE_OUTCOME) == "activated"
        (cache,) = page.evaluate("caches.keys()")
        assert cache == f"digit-pipeline {url} {content_hash(dist_b, precache_files(dist_b))}"
        keys = page.evaluate(CACHED_PATHS)
        assert any(key.endswith("data/train-images.png") for key in keys) and any(key.endswith("vendor/tfjs-digits.js") for key in keys)
    finally:
        context.close()


def test_a_file_that_is_not_what_the_build_wrote_keeps_the_old_cache(browser, built_dist, trained_artifacts, tmp_path, served):
    """Build B replaces build A on the server, but one of its files is changed after the build (a broken
    upload, a tampering proxy): B's service worker must not install, and A's cache keeps serving."""
    dist_b = another_build(trained_artifacts, tmp_path)
    page_b = dist_b / "index.html"  # a file whose URL ("./") the HTTP cache holds from build A, too
    page_b.write_text(page_b.read_text() + "<!-- not what the build wrote -->\n")
    version_a = content_hash(built_dist, precache_files(built_dist))

    root = tmp_path / "served"
    shutil.copytree(built_dist, root)
    _, url = served(root)
    context = browser.new_context()
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(OFFLINE_READY)
        shutil.rmtree(root)
        shutil.copytree(dist_b, root)
        assert page.evaluate(UPDATE_OUTCOME) == "redundant"
        assert page.evaluate("caches.keys()") == [f"digit-pipeline {url} {version_a}"]
        context.set_offline(True)
        page.reload()
        page.wait_for_selector(READY)
        assert page.text_content("h1") == "Draw a digit", "build A, from its cache"
        draw_with_mouse(page, ONE)
        assert prediction_after(page, 1) == "1"
    finally:
        context.close()
