"""axe-core (pinned in package.json) on the three pages, in light and dark: no serious or critical violation.

axe is injected as a script, which the pages' CSP refuses by design, so these contexts bypass CSP; what axe
reads (the DOM, the computed styles) is the same."""

from __future__ import annotations

import pytest

from tests.browser.helpers import READY, SEVEN, draw_with_mouse, prediction_after
from tests.helpers import NODE_MODULES

pytestmark = pytest.mark.browser

AXE = NODE_MODULES / "axe-core" / "axe.min.js"
SEVERE = ("serious", "critical")
# Each page and what says it is ready: the drawing page's model, the report's charts, the lab's data.
PAGES = {"index.html": READY, "report.html": READY, "train.html": 'body:not([data-state="loading"])'}


def severe_violations(page) -> list[str]:
    page.add_script_tag(path=str(AXE))
    violations = page.evaluate("axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations.map((v) => ({id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' '))})))")
    return [f"{v['id']} ({v['impact']}): {v['nodes']}" for v in violations if v["impact"] in SEVERE]


@pytest.mark.parametrize("scheme", ["light", "dark"])
@pytest.mark.parametrize("name", list(PAGES))
def test_no_serious_or_critical_axe_violation(browser, site_url, name, scheme):
    context = browser.new_context(bypass_csp=True, color_scheme=scheme)
    page = context.new_page()
    page.goto(site_url + ("" if name == "index.html" else name))
    page.wait_for_selector(PAGES[name], timeout=60_000)
    assert severe_violations(page) == []
    if name == "index.html":  # and with a reading, its rows enabled and its choices listed
        draw_with_mouse(page, SEVEN)
        assert prediction_after(page, 1) == "7"
        assert severe_violations(page) == []
    context.close()
