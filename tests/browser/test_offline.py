"""Offline use: after one visit each page works with the network off, also once the browser's HTTP cache has let
its copies go (GitHub Pages' max-age=600: ten minutes after the visit), so only the service worker's own cache
serves them; every file the drawing page loads is in the group the service worker keeps for it; and a new build's
service worker replaces the old."""

from __future__ import annotations

import json
import re
import shutil
from urllib.parse import unquote, urlsplit

import pytest

from pipeline.tools.serve import serve_in_background
from pipeline.build.webapp import content_hash, precache_files
from tests.browser.helpers import SUB_PATH, another_build, draw_with_mouse, ONE, PageLog, prediction_after, READY, SEVEN


pytestmark = pytest.mark.browser

CONTROLLED = "() => navigator.serviceWorker.controller !== null"
CACHE_NAMES = "caches.keys()"
OFFLINE_READY = 'html[data-offline="ready"]'  # js/offline.js: the service worker has cached this page's group
PAGES = {"index.html": READY, "report.html": READY, "train.html": 'body[data-state="idle"]',
         "network.html": '#network[data-ready="true"]'}  # each page's ready state


def visit_until_cached(page, url: str) -> None:
    """Open the site and wait until its service worker has precached everything and controls the page."""
    page.goto(url)
    page.wait_for_selector(READY)
    page.wait_for_function(CONTROLLED)


@pytest.mark.expected_browser_errors(r"net::ERR_FAILED \(.*/not-in-the-build\.txt\)")  # the offline fetch below
def test_after_one_visit_the_page_works_offline(browser, site_url, built_dist):
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        visit_until_cached(page, site_url)
        version = content_hash(built_dist, precache_files(built_dist))
        assert page.evaluate(CACHE_NAMES) == [f"digit-pipeline {site_url} {version}"]
        context.set_offline(True)
        page.reload()
        page.wait_for_selector(READY)
        draw_with_mouse(page, SEVEN)
        assert prediction_after(page, 1) == "7"
        # Really offline: a file that was not precached cannot be fetched.
        assert page.evaluate("fetch('not-in-the-build.txt').then(() => 'fetched', () => 'failed')") == "failed"
        assert log.errors == [] and log.outside(site_url) == []
    finally:
        context.close()


def test_without_the_service_worker_the_offline_reload_fails(browser, site_url):
    """The control for the test above: the same steps with service workers blocked do not load."""
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    try:
        page.goto(site_url)
        page.wait_for_selector(READY)
        context.set_offline(True)
        with pytest.raises(Exception, match="ERR_INTERNET_DISCONNECTED"):
            page.reload()
    finally:
        context.close()


def test_a_new_build_replaces_the_old_cache(browser, built_dist, trained_artifacts, tmp_path, serve):
    build_b = another_build(trained_artifacts, tmp_path)  # every page and the cache name differ
    version_a = content_hash(built_dist, precache_files(built_dist))
    version_b = content_hash(build_b, precache_files(build_b))
    assert version_a != version_b
    assert re.search(rf'const VERSION = "{version_b}"', (build_b / "sw.js").read_text())

    served = tmp_path / "served"  # one folder, one URL: build A first, then build B in its place
    shutil.copytree(built_dist, served)
    url = serve(served)
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        visit_until_cached(page, url)
        assert page.evaluate(CACHE_NAMES) == [f"digit-pipeline {url} {version_a}"]
        assert page.text_content("h1") == "Draw a digit"

        shutil.rmtree(served)
        shutil.copytree(build_b, served)
        page.reload()  # served from cache A; the browser checks sw.js, finds build B, installs it
        page.wait_for_function(f"() => caches.keys().then(names => names.length === 1 && names[0].endsWith(' {version_b}'))")
        page.wait_for_selector("#update-notice button", state="visible")  # "a new version is ready"
        page.click("#update-notice button")
        page.wait_for_selector(READY)
        assert page.text_content("h1") == "Draw a digit, build B"
        assert page.evaluate(CACHE_NAMES) == [f"digit-pipeline {url} {version_b}"]
        draw_with_mouse(page, ONE)
        assert prediction_after(page, 1) == "1"
        assert log.errors == []
    finally:
        context.close()


def test_offline_works_at_a_domain_root_too(browser, built_dist):
    """Like a custom domain (https://digits.example/): the same build, served at /, registers scope / and works offline."""
    server, url = serve_in_background(built_dist, base="/")
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        visit_until_cached(page, url)
        assert page.evaluate("navigator.serviceWorker.ready.then(r => r.scope)") == url
        context.set_offline(True)
        page.reload()
        page.wait_for_selector(READY)
        draw_with_mouse(page, ONE)
        assert prediction_after(page, 1) == "1"
        assert log.errors == []
    finally:
        context.close()
        server.shutdown()
        server.server_close()


def clear_http_cache(context, page) -> None:
    """Empty the browser's HTTP cache (Chrome DevTools Protocol), as its max-age running out does; the service
    worker's caches (Cache Storage) stay."""
    cdp = context.new_cdp_session(page)
    cdp.send("Network.clearBrowserCache")
    cdp.detach()


@pytest.mark.parametrize("name", list(PAGES))
def test_after_one_visit_a_page_works_offline_once_the_http_cache_is_gone(browser, site_url, name):
    """One visit, the HTTP cache emptied, the network off, a reload: the page is ready from the service worker's cache
    alone; the drawing page then reads a digit."""
    context = browser.new_context()
    page = context.new_page()
    log = PageLog(page)
    try:
        page.goto(site_url + name.replace("index.html", ""))
        page.wait_for_selector(PAGES[name])
        page.wait_for_selector(OFFLINE_READY)
        clear_http_cache(context, page)
        context.set_offline(True)
        page.reload()
        page.wait_for_selector(PAGES[name])
        if name == "index.html":
            draw_with_mouse(page, SEVEN)
            assert prediction_after(page, 1) == "7"
        assert log.errors == []
    finally:
        context.close()


def served_paths(server, start: int = 0) -> set[str]:
    """The site paths (relative to the served root, no query) of the requests `server` answered from its `start`-th on."""
    return {unquote(urlsplit(sent.path).path).removeprefix(SUB_PATH) or "index.html" for sent in server.sent[start:]}


def test_every_file_the_drawing_page_loads_is_in_its_service_worker_group(browser, built_dist):
    """Loading, drawing and reading fetch only files of the drawing page's precached group; teaching a digit fetches
    only files of that group or of the group kept on demand. Service workers are blocked here, so every request the
    page and its model worker make reaches the server: a file added to the page but not to its group fails this."""
    script = (built_dist / "sw.js").read_text()
    groups = {name: {unquote(entry[0]) for entry in json.loads(re.search(rf"const {name} = (\[.*?\]);", script).group(1))}
              for name in ("PAGE", "LATER", "LAB")}
    server, url = serve_in_background(built_dist, base=SUB_PATH)
    context = browser.new_context(service_workers="block")
    page = context.new_page()
    try:
        page.goto(url)
        page.wait_for_selector(READY)
        draw_with_mouse(page, SEVEN)
        assert prediction_after(page, 1) == "7"
        loaded = served_paths(server)
        assert loaded - groups["PAGE"] == set(), "loaded by the drawing page but not precached"
        assert {"js/doubt.js", "js/personal.js", "model/model.json"} <= loaded
        taught_from = len(server.sent)
        page.click('#probabilities > [data-digit="1"]')  # "no, that is a 1": the page learns
        page.wait_for_selector('#personal[data-state="personal"]')
        taught = served_paths(server, taught_from)
        assert taught - groups["PAGE"] - groups["LATER"] == set(), "loaded to learn a hand but in no group of the page"
        assert "js/adapt.js" in taught and "js/adapt.js" in groups["LATER"]
    finally:
        context.close()
        server.shutdown()
        server.server_close()
