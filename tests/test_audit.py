"""`make audit`'s report (scripts/audit.py): vulnerabilities are listed, and "could not check" never reads as clean.

The JSON below has the shapes pip-audit 2.10 (`--format json`) and npm 11
(`npm audit --json`, report version 2, or its error object) print.
"""

from __future__ import annotations

import importlib.util
import subprocess
import sys

from tests.helpers import ROOT


spec = importlib.util.spec_from_file_location("audit", ROOT / "scripts" / "audit.py")
audit = importlib.util.module_from_spec(spec)
sys.modules["audit"] = audit  # dataclasses resolves the module's annotations through sys.modules
spec.loader.exec_module(audit)

PIP_AUDIT_JSON = {
    "dependencies": [
        {"name": "jinja2", "version": "3.1.4", "vulns": [
            {"id": "GHSA-q2x7-8rv6-6q7h", "fix_versions": ["3.1.5"], "aliases": ["CVE-2024-56201"], "description": "..."}]},
        {"name": "click", "version": "8.5.1", "vulns": []},
        {"name": "tensorflow", "skip_reason": "Dependency not found on PyPI and could not be audited: tensorflow (2.19.0)"},
    ],
    "fixes": [],
}
NPM_AUDIT_JSON = {
    "auditReportVersion": 2,
    "vulnerabilities": {
        "core-js": {"name": "core-js", "severity": "moderate", "isDirect": False, "range": "<3.30.0",
                    "via": [{"source": 1, "title": "Prototype pollution", "url": "https://github.com/advisories/GHSA-xxxx"}],
                    "effects": ["@tensorflow/tfjs"], "fixAvailable": True},
        "@tensorflow/tfjs": {"name": "@tensorflow/tfjs", "severity": "moderate", "isDirect": True, "range": "4.22.0",
                             "via": ["core-js"], "effects": [], "fixAvailable": False},
    },
    "metadata": {"vulnerabilities": {"moderate": 2, "total": 2}, "dependencies": {"prod": 40, "dev": 1, "total": 41}},
}
NPM_ERROR_JSON = {"message": "405 Method Not Allowed - POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk",
                  "statusCode": 405, "error": {"summary": "", "detail": ""}}


def test_pip_audit_findings_and_skips_are_reported():
    report = audit.parse_pip_audit(PIP_AUDIT_JSON, "python")
    assert report.checked == 2
    assert report.findings == ["jinja2 3.1.4: GHSA-q2x7-8rv6-6q7h (fixed in 3.1.5)"]
    assert report.unchecked == ["tensorflow: Dependency not found on PyPI and could not be audited"]
    assert not report.clean and "1 could not be checked" in report.lines()[0]


def test_npm_audit_findings_name_the_advisory_or_the_path():
    report = audit.parse_npm_audit(NPM_AUDIT_JSON, "npm")
    assert report.checked == 41
    assert report.findings == ["@tensorflow/tfjs 4.22.0: moderate (via core-js)",
                               "core-js <3.30.0: moderate (https://github.com/advisories/GHSA-xxxx)"]


def test_an_unreachable_advisory_service_is_one_line_and_not_clean():
    report = audit.parse_npm_audit(NPM_ERROR_JSON, "npm (package-lock.json)")
    assert report.lines() == ["npm (package-lock.json): NOT CHECKED: npm audit failed: 405 Method Not Allowed - "
                              "POST https://registry.npmjs.org/-/npm/v1/security/advisories/bulk"]
    assert audit.verdict([report]) == "audit: 0 known vulnerabilities; INCOMPLETE, not checked: npm"


def test_clean_only_when_everything_was_checked():
    clean = audit.parse_pip_audit({"dependencies": [{"name": "click", "version": "8.5.1", "vulns": []}]}, "python")
    assert clean.clean and audit.verdict([clean]) == "audit: clean, no known vulnerabilities"


def test_strict_fails_when_pip_audit_is_missing(tmp_path):
    missing = tmp_path / "no-pip-audit"
    run = subprocess.run([sys.executable, str(ROOT / "scripts" / "audit.py"), "--strict", "--pip-audit", str(missing)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 1
    first = run.stdout.splitlines()[0]
    assert first == f"python (requirements.lock, pip-audit): NOT CHECKED: {missing}: not installed (run `make audit`, which installs it into .venv-audit)"
    assert "Traceback" not in run.stdout + run.stderr
