"""Report known vulnerabilities in the pinned dependencies: requirements.lock and package-lock.json.

Usage: python scripts/audit.py [--strict] [--pip-audit PATH]   (what `make audit` runs)

Python: pip-audit (pinned in requirements-audit.lock, installed into .venv-audit by
`make audit`) checks every pin of requirements.lock without installing anything
(`--no-deps --disable-pip`: the lock is complete). npm: `npm audit` against
package-lock.json, once for what the site ships (`--omit=dev`) and once in full.

Exit status: 0 by default (report only). With --strict: 1 if any known
vulnerability was found, or if any package or source could not be checked, so
"could not check" never passes for "clean". A source that cannot be reached is
reported in one line naming it and the reason.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Report:
    """What one audit source found."""

    source: str  # e.g. "python (requirements.lock)"
    checked: int = 0  # packages whose advisories were looked up
    findings: list[str] = field(default_factory=list)  # one line per vulnerability
    unchecked: list[str] = field(default_factory=list)  # packages that could not be looked up, with the reason
    error: str | None = None  # the whole source failed: one line

    @property
    def clean(self) -> bool:
        return not (self.findings or self.unchecked or self.error)

    def lines(self) -> list[str]:
        if self.error:
            return [f"{self.source}: NOT CHECKED: {self.error}"]
        out = [f"{self.source}: {self.checked} packages checked, {len(self.findings)} known vulnerabilities"
               + (f", {len(self.unchecked)} could not be checked" if self.unchecked else "")]
        out += [f"  {line}" for line in self.findings]
        if self.unchecked:
            reasons = sorted({u.split(": ", 1)[-1] for u in self.unchecked})
            out.append(f"  not checked: {', '.join(u.split(': ', 1)[0] for u in self.unchecked[:8])}"
                       + (" ..." if len(self.unchecked) > 8 else "") + f" ({'; '.join(reasons)[:160]})")
        return out


def parse_pip_audit(doc: dict, source: str) -> Report:
    """pip-audit's `--format json` output -> Report."""
    report = Report(source)
    for dep in doc.get("dependencies", []):
        if "skip_reason" in dep:
            reason = dep["skip_reason"].split(":")[0]  # "Dependency not found on PyPI and could not be audited"
            report.unchecked.append(f"{dep['name']}: {reason}")
            continue
        report.checked += 1
        for vuln in dep.get("vulns", []):
            fixes = ", ".join(vuln.get("fix_versions", [])) or "no fix yet"
            report.findings.append(f"{dep['name']} {dep['version']}: {vuln['id']} (fixed in {fixes})")
    return report


def parse_npm_audit(doc: dict, source: str) -> Report:
    """`npm audit --json` output (report version 2, or npm's error object) -> Report."""
    report = Report(source)
    if "vulnerabilities" not in doc:
        report.error = f"npm audit failed: {doc.get('message') or doc.get('error', {}).get('summary') or 'no report'}"
        return report
    report.checked = doc.get("metadata", {}).get("dependencies", {}).get("total", 0)
    for name, vuln in sorted(doc["vulnerabilities"].items()):
        advisories = [v.get("url") or v.get("title") for v in vuln.get("via", []) if isinstance(v, dict)]
        via = ", ".join(a for a in advisories if a) or "via " + ", ".join(v for v in vuln.get("via", []) if isinstance(v, str))
        report.findings.append(f"{name} {vuln.get('range', '')}: {vuln.get('severity', '?')} ({via})")
    return report


def _last_line(text: str) -> str:
    lines = [line for line in text.strip().splitlines() if line.strip()]
    return lines[-1].strip() if lines else "no output"


def audit_python(pip_audit: str, lock: Path) -> Report:
    source = f"python ({lock.name}, pip-audit)"
    try:
        run = subprocess.run([pip_audit, "-r", str(lock), "--no-deps", "--disable-pip", "--format", "json",
                              "--progress-spinner", "off"], capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        return Report(source, error=f"{pip_audit}: not installed (run `make audit`, which installs it into .venv-audit)")
    try:
        doc = json.loads(run.stdout)
    except json.JSONDecodeError:
        return Report(source, error=f"pip-audit exited {run.returncode}: {_last_line(run.stderr)}")
    report = parse_pip_audit(doc, source)
    if report.checked == 0 and report.unchecked:
        report.error = (f"the vulnerability service answered for none of the {len(report.unchecked)} pins "
                        f"({report.unchecked[0].split(': ', 1)[1]}); is pypi.org's JSON API reachable?")
    return report


def audit_npm(lock: Path, omit_dev: bool) -> Report:
    source = f"npm ({lock.name}{', shipped packages only' if omit_dev else ', with dev tools'})"
    command = ["npm", "audit", "--json", *(["--omit=dev"] if omit_dev else [])]
    try:
        run = subprocess.run(command, cwd=lock.parent, capture_output=True, text=True, timeout=600)
    except FileNotFoundError:
        return Report(source, error="npm: not installed")
    try:
        return parse_npm_audit(json.loads(run.stdout), source)
    except json.JSONDecodeError:
        return Report(source, error=f"npm audit exited {run.returncode}: {_last_line(run.stderr)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--strict", action="store_true", help="exit 1 on any vulnerability or anything not checked")
    parser.add_argument("--pip-audit", default=str(ROOT / ".venv-audit" / "bin" / "pip-audit"))
    args = parser.parse_args(argv)

    reports = [
        audit_python(args.pip_audit, ROOT / "requirements.lock"),
        audit_npm(ROOT / "package-lock.json", omit_dev=True),
        audit_npm(ROOT / "package-lock.json", omit_dev=False),
    ]
    for report in reports:
        print("\n".join(report.lines()))
    print(verdict(reports) + ("" if args.strict else " (report only: exit 0; --strict exits 1 unless clean)"))
    return 1 if args.strict and not all(r.clean for r in reports) else 0


def verdict(reports: list[Report]) -> str:
    """The closing line: clean, how many vulnerabilities, and whether anything went unchecked."""
    found = sum(len(r.findings) for r in reports)
    incomplete = [r.source.split(" ")[0] for r in reports if r.error or r.unchecked]
    if not found and not incomplete:
        return "audit: clean, no known vulnerabilities"
    words = [f"{found} known vulnerabilities"]
    if incomplete:
        words.append(f"INCOMPLETE, not checked: {', '.join(sorted(set(incomplete)))}")
    return "audit: " + "; ".join(words)


if __name__ == "__main__":
    sys.exit(main())
