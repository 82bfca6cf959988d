"""Offline use: after one visit the page works with the network off, and a new build's service worker replaces the old."""

from __future__ import annotations

import re
import shutil

import pytest

from pipeline.tools.serve import serve_in_background
from pipeline.build.webapp import content_hash, precache_files
from tests.browser.helpers import another_build, draw_with_mouse, ONE, PageLog, prediction_after, READY, SEVEN


pytestmark = pytest.mark.browser

CONTROLLED = "() => navigator.serviceWorker.controller !== null"
CACHE_NAMES = "caches.keys()"


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
