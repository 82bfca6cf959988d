"""Browser fixtures: Debian's headless Chromium shell and the built site served under a sub-path.

Every test that opens a browser fails on any error in its pages or their workers (the autouse
fixture `browser_errors`), unless it names the errors it provokes on purpose with
`@pytest.mark.expected_browser_errors(REGEX, ...)`: then every error must match one of them, and
each of them must match an error.

The site is served at http://127.0.0.1:PORT/digits/ (requests outside /digits/
get 404), the way GitHub Pages serves a project site at
https://USER.github.io/REPO/, so a URL that is not relative breaks here too.
"""

from __future__ import annotations

import contextlib
import os

import pytest

from bench.chromium import CHROMIUM_ARGS

from .helpers import READY, BrowserErrors, PageLog, serving


# The tests' browser: Debian's chromium-headless-shell (`make system-deps`), Chromium's own build of the same engine
# without the browser around it, as Playwright runs headless tests with its own downloads. It takes less CPU per page
# than the full browser, and the suite is bound by CPU. The full browser still runs in the suite under the benchmarks'
# smoke tests and Lighthouse's audits, which measure what a visitor's browser does. CHROMIUM_PATH picks another.
HEADLESS_SHELL = "/usr/bin/chromium-headless-shell"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, with Debian's headless Chromium (Playwright cannot download its own
    here)."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", HEADLESS_SHELL),
        "args": CHROMIUM_ARGS,
    }


@pytest.fixture(autouse=True)
def browser_errors(request, monkeypatch):
    """Watches every browser context the test opens (pytest-playwright's `page` and `context`, and the
    test's own `browser.new_context()`); at teardown, fails on any error they reported (BrowserErrors)
    that the test's `expected_browser_errors` marker does not name. Yields the BrowserErrors, or None
    for a test without a browser."""
    if "browser" not in request.fixturenames:
        yield None
        return
    browser = request.getfixturevalue("browser")
    errors = BrowserErrors()
    open_context = browser.new_context
    opened = []

    def new_context(*args, **kwargs):
        context = open_context(*args, **kwargs)
        errors.watch(context)
        opened.append(context)
        return context

    monkeypatch.setattr(browser, "new_context", new_context)
    yield errors
    for context in opened:  # closing flushes the events still on their way
        if context in browser.contexts:  # still open: the test's own, left open
            context.close()
    marker = request.node.get_closest_marker("expected_browser_errors")
    expected = marker.args if marker else ()
    assert errors.unexpected(expected) == [], "errors in the browser"
    assert errors.unseen(expected) == [], f"expected errors that did not happen (all errors: {errors.messages})"


@pytest.fixture(scope="session")
def site_url(built_dist) -> str:
    """The URL of the real built site (real model, trained on real MNIST)."""
    with serving(built_dist) as url:
        yield url


@pytest.fixture
def serve(request):
    """A function that serves another folder like `site_url` (until the test ends) and returns its URL.

    At the end the test's browser contexts close before these servers stop: a page still fetching when
    the test returns (its service worker precaching) would otherwise report the teardown's connection
    resets as its own errors."""
    with contextlib.ExitStack() as stack:
        yield lambda root: stack.enter_context(serving(root))
        if "browser" in request.fixturenames:
            for context in list(request.getfixturevalue("browser").contexts):
                context.close()


@pytest.fixture
def page_log(page) -> PageLog:
    """Records `page`'s requests and uncaught errors from now on."""
    return PageLog(page)


@pytest.fixture
def ready_page(page, page_log, site_url):
    """The site, loaded, with its model warmed up (body[data-ready=true]).
    At teardown: no request left the origin and no error went uncaught."""
    page.goto(site_url)
    page.wait_for_selector(READY)
    yield page
    assert page_log.outside(site_url) == [], "requests left the page's origin"
    assert page_log.errors == [], "uncaught errors in the page"
