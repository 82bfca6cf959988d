"""Every test has a time limit (pytest-timeout): pyproject's `timeout` for most, tests/helpers.py's
SLOW_TIMEOUT (set by tests/conftest.py) for those that use the real model or a browser. A stuck test is stopped and failed,
not left to hold CI until the job's own limit.

Each case runs a small test file in a child pytest (pytester) with this project's conftest hook.
"""

from __future__ import annotations

import os

from tests.helpers import ROOT, SLOW_TIMEOUT

CONFTEST = """
import pytest
from tests.conftest import pytest_collection_modifyitems  # the project's hook: marks and limits

@pytest.fixture
def trained_artifacts():  # stands in for the real model: its name is what marks a test slow
    return None
"""


def run_child(pytester, monkeypatch, test_source: str, *args: str):
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\nmarkers =\n  slow: uses the real model\n  browser: drives chromium\n")
    pytester.makepyfile(test_source)
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", "-p", "no:xdist", *args)


def test_a_stuck_test_is_stopped_and_failed(pytester, monkeypatch):
    result = run_child(pytester, monkeypatch, """
import time

def test_stuck():
    time.sleep(600)  # a child process that never answers, as far as the test can tell
""", "--timeout", "2")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*Failed: Timeout (>2.0s) from pytest-timeout*"])


def test_slow_and_browser_tests_get_the_long_limit_and_others_the_default(pytester, monkeypatch):
    result = run_child(pytester, monkeypatch, """
import pytest

def limit(request):
    return request.node.get_closest_marker("timeout").args[0]

def test_uses_the_real_model(trained_artifacts, request):
    assert limit(request) == %d

@pytest.mark.browser
def test_in_a_browser(request):
    assert limit(request) == %d

@pytest.mark.timeout(7)
def test_with_its_own_limit(trained_artifacts, request):
    assert limit(request) == 7

def test_quick(request):
    assert request.node.get_closest_marker("timeout") is None  # pyproject's default applies
""" % (SLOW_TIMEOUT, SLOW_TIMEOUT))
    result.assert_outcomes(passed=4)


def test_the_default_limit_is_set_for_the_whole_suite(pytestconfig):
    assert (ROOT / "pyproject.toml").read_text().count("\ntimeout = 300\n") == 1
    assert pytestconfig.getini("timeout") == "300"
