"""Browser fixtures: Debian's headless Chromium and the built site served under a sub-path.

The site is served at http://127.0.0.1:PORT/digits/ (requests outside /digits/
get 404), the way GitHub Pages serves a project site at
https://USER.github.io/REPO/, so a URL that is not relative breaks here too.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from bench.chromium import CHROMIUM_ARGS
from pipeline.serve import serve_in_background

SUB_PATH = "/digits/"  # like GitHub Pages' /REPO/
READY = 'body[data-ready="true"]'


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright's launch arguments, with Debian's Chromium (Playwright cannot download its own here)."""
    return {
        **browser_type_launch_args,
        "executable_path": os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"),
        "args": CHROMIUM_ARGS,
    }


@contextlib.contextmanager
def serving(root: Path):
    """Serve the folder `root` (a dist/) on 127.0.0.1 under SUB_PATH; yields its URL,
    "http://127.0.0.1:PORT/digits/". .wasm goes out as application/wasm, .js as text/javascript."""
    server, url = serve_in_background(root, base=SUB_PATH)
    try:
        yield url
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="session")
def site_url(built_dist) -> str:
    """The URL of the real built site (real model, trained on real MNIST)."""
    with serving(built_dist) as url:
        yield url


@pytest.fixture
def serve():
    """A function that serves another folder like `site_url` (until the test ends) and returns its URL."""
    with contextlib.ExitStack() as stack:
        yield lambda root: stack.enter_context(serving(root))


class PageLog:
    """What a page did: the URLs it requested and its uncaught errors."""

    def __init__(self, page):
        self.requests: list[str] = []
        self.errors: list[str] = []
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def outside(self, origin: str) -> list[str]:
        """Requests to anywhere but `origin` (scheme://host:port); data: and blob: URLs stay in the page."""
        return [url for url in self.requests if urlsplit(url).scheme not in ("data", "blob") and not _same_origin(url, origin)]


def _same_origin(url: str, origin: str) -> bool:
    a, b = urlsplit(url), urlsplit(origin)
    return (a.scheme, a.netloc) == (b.scheme, b.netloc)


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
