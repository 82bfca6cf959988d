"""The same built dist/, unchanged, works where GitHub Pages may put it: at a custom domain's root
("/") and at a project path ("/REPO/"). The server answers 404 outside its base, like Pages.
"""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.tools.serve import serve_in_background
from tests.browser.helpers import PageLog, READY


pytestmark = pytest.mark.browser


@pytest.mark.parametrize("base", ["/", "/REPO/"], ids=["custom-domain-root", "project-path"])
def test_the_site_works_at_the_root_and_at_a_project_path(page, built_dist, mnist, base):
    server, url = serve_in_background(built_dist, base=base)
    try:
        log = PageLog(page)
        page.goto(url)
        page.wait_for_selector(READY)
        image = mnist.x_test[1].reshape(-1).tolist()
        probs = page.evaluate("pixels => window.digitApp.predictMnist(new Uint8Array(pixels))", image)
        failed = page.evaluate(
            "performance.getEntriesByType('resource').filter(e => e.responseStatus >= 400).map(e => e.name)")
    finally:
        server.shutdown()
        server.server_close()
    assert int(np.argmax(probs)) == int(mnist.y_test[1])
    assert log.requests and all(r.startswith(url) for r in log.requests), [r for r in log.requests if not r.startswith(url)]
    assert failed == [] and log.errors == []
