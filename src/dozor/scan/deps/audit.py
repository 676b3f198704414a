"""The dependency rules: judge parsed dependencies against an advisory database.

DZ-DEP-001  a pinned version is affected by an advisory (severity from the advisory).
DZ-DEP-002  a dependency is a range, not a pin, so it cannot be checked offline:
            MEDIUM for ML packages; for others LOW when the range admits a version
            with a known advisory, INFO when it admits none.
DZ-DEP-003  a dependency cannot be resolved to a version (URL, VCS, local path,
            non-PEP 440 version, include not followed): not checked.
DZ-DEP-004  which advisory database, of which date, the checks used.
DZ-DEP-005  a dependency file, or part of it, cannot be parsed.
DZ-DEP-006  the advisory database given with --advisory-db cannot be read.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from packaging.specifiers import SpecifierSet
from packaging.version import Version

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import finding, printable
from dozor.scan.deps.database import Advisory, AdvisoryDatabase, Match, PackageAdvisories
from dozor.scan.deps.model import Dependency, ParseProblem
from dozor.scan.deps.osv import normalise

SCANNER = "deps"
# OWASP ML06 and LLM03 (supply chain), ATLAS AI Supply Chain Compromise: AI Software
TAXONOMY = ("ML06:2023", "LLM03:2025", "AML.T0010", "AML.T0010.001")

ML_PACKAGES = frozenset({
    "torch", "torchvision", "torchaudio", "transformers", "tokenizers", "tensorflow",
    "tensorflow-cpu", "tensorflow-gpu", "keras", "tf-keras", "jax", "jaxlib",
    "scikit-learn", "xgboost", "lightgbm", "catboost", "onnx", "onnxruntime",
    "onnxruntime-gpu", "mlflow", "ray", "vllm", "gradio", "llama-cpp-python", "diffusers",
    "accelerate", "datasets", "huggingface-hub", "sentence-transformers", "safetensors",
    "peft", "numpy", "pandas", "pillow", "bentoml", "triton",
})
ML_PREFIXES = ("langchain", "llama-index")

_BANDS = {"critical": Severity.CRITICAL, "high": Severity.HIGH, "medium": Severity.MEDIUM,
          "low": Severity.LOW, "none": Severity.LOW}


def is_ml(name: str) -> bool:
    """Whether a package is part of the ML stack (models, loaders, serving, data frames)."""
    key = normalise(name)
    return key in ML_PACKAGES or key.startswith(ML_PREFIXES)


def _dep_finding(rule: str, title: str, severity: Severity, location: Location, *,
                 evidence: str, remediation: str, details: dict[str, str] | None = None,
                 confidence: float = 1.0) -> Finding:
    return finding(rule, title, severity, location, evidence=evidence,
                   remediation=remediation, scanner=SCANNER, taxonomy=TAXONOMY,
                   details=details, confidence=confidence)


def audit(deps: Iterable[Dependency], db: AdvisoryDatabase | None) -> Iterator[Finding]:
    """Findings for `deps`; with no database (it could not be read) only what needs none."""
    reported: set[tuple[str, str]] = set()
    for dep in deps:
        if dep.unchecked:
            yield unchecked(dep)
        elif db is None:
            continue
        elif dep.version is not None:
            pkg = db.package(dep.name)
            for match in pkg.affecting(dep.version) if pkg else []:
                if (dep.key, match.advisory.id) not in reported:
                    reported.add((dep.key, match.advisory.id))
                    yield vulnerable(dep, match, db)
        else:
            yield unpinned(dep, db.package(dep.name))


def _ids(adv: Advisory) -> str:
    return ", ".join((adv.id, *adv.aliases))


def vulnerable(dep: Dependency, match: Match, db: AdvisoryDatabase) -> Finding:
    adv = match.advisory
    severity = _BANDS.get(adv.severity, Severity.HIGH)
    if adv.severity:
        rated = f"{adv.severity}" + (f" {adv.score:g}" if adv.score is not None else "") + \
            f" ({adv.severity_from})"
    else:
        rated = "no severity in the database (reported as high)"
    fixed = match.fixed
    evidence = (f"{printable(dep.text, 160)}: {adv.id} ({', '.join(adv.aliases) or 'no alias'})"
                f", {rated}; fixed in {fixed or 'no release yet'}: {adv.summary}")
    if fixed:
        remediation = f"Upgrade {dep.name} to {fixed} or later (pin {dep.name}=={fixed} or newer)."
    else:
        remediation = (f"No fixed release of {dep.name} is known: remove or replace it, or "
                       f"limit what untrusted input reaches it; watch {adv.label} for a fix.")
    return _dep_finding(
        "DZ-DEP-001",
        f"{dep.name} {dep.version} is affected by {adv.label}",
        severity,
        dep.location,
        evidence=printable(evidence, 400),
        remediation=remediation,
        details={"package": dep.key, "version": dep.version or "", "advisory": adv.id,
                 "aliases": ",".join(adv.aliases), "fixed": fixed or "",
                 "severity_from": adv.severity_from, "database": db.snapshot},
    )


def unpinned(dep: Dependency, pkg: PackageAdvisories | None) -> Finding:
    allowed = list(dep.allowed) or [SpecifierSet()]
    admitted = pkg.admitted(allowed) if pkg else []
    ml = is_ml(dep.name)
    # A range that admits a known-vulnerable release of an ML package fails the default
    # policy; a range with no known advisory (a library's "numpy>=1.26") is reported low.
    if ml:
        severity = Severity.MEDIUM if admitted else Severity.LOW
    else:
        severity = Severity.LOW if admitted else Severity.INFO
    shown = printable(dep.text, 120)
    if admitted:
        examples = ", ".join(
            f"{a.label} (fixed {a.fixed[-1]})" if a.fixed else f"{a.label} (no fix)"
            for a in _worst_first(admitted)[:3]
        )
        n = len(admitted)
        said = (f"the range admits versions affected by {n} advisor{'y' if n == 1 else 'ies'}"
                f", e.g. {examples}")
    else:
        said = "no version the range admits has a known advisory in the database"
    remediation = (f"Pin {dep.name} to an exact version (==, or a lock file) so dozor can "
                   "check it offline")
    floor = _safe_floor(pkg, allowed, admitted) if pkg and admitted else None
    if floor:
        remediation += f"; {dep.name}>={floor} excludes every advisory known today"
    title = (f"{'ML dependency' if ml else 'Dependency'} {dep.name} is not pinned to an exact "
             "version, so it cannot be checked offline")
    return _dep_finding(
        "DZ-DEP-002", title, severity, dep.location,
        evidence=f"{shown}: {said}",
        remediation=remediation + ".",
        details={"package": dep.key, "range": ",".join(str(s) for s in allowed),
                 "advisories": ",".join(a.id for a in admitted), "ml": str(ml).lower()},
    )


def _worst_first(advisories: list[Advisory]) -> list[Advisory]:
    def rank(a: Advisory) -> tuple[int, str]:
        return (-int(_BANDS.get(a.severity, Severity.HIGH)), a.published)

    return sorted(advisories, key=rank)


def _safe_floor(pkg: PackageAdvisories, allowed: list[SpecifierSet],
                admitted: list[Advisory]) -> str | None:
    """A lower bound that, added to the range, leaves no known advisory admitted."""
    if any(not a.fixed for a in admitted):
        return None
    floor = max((a.fixed[-1] for a in admitted), key=Version)
    narrowed = [s & SpecifierSet(f">={floor}") for s in allowed]
    return floor if not pkg.admitted(narrowed) else None


def unchecked(dep: Dependency) -> Finding:
    return _dep_finding(
        "DZ-DEP-003",
        f"{dep.name} cannot be checked against advisories: {dep.unchecked}",
        Severity.MEDIUM,
        dep.location,
        evidence=printable(dep.text, 200),
        remediation=("Depend on a released version from the package index with an exact pin, "
                     "or review this source by hand and record the decision in a suppression."),
        details={"package": dep.key, "reason": dep.unchecked},
    )


def database_used(db: AdvisoryDatabase, location: Location) -> Finding:
    return _dep_finding(
        "DZ-DEP-004",
        f"Dependencies checked against the advisory database of {db.snapshot or 'unknown date'}",
        Severity.INFO,
        location,
        evidence=db.describe(),
        remediation=("Advisories published after this date are not known to this check: "
                     "update dozor, or pass a newer OSV export with --advisory-db."),
        details={"snapshot": db.snapshot, "source": db.source.get("name", ""),
                 "commit": db.source.get("commit", "")},
    )


def cannot_parse(problem: ParseProblem, location: Location) -> Finding:
    where = problem.where or location
    return _dep_finding(
        "DZ-DEP-005",
        "Cannot parse dependency file; what it declares was not checked",
        Severity.MEDIUM,
        where.at(line=problem.line),
        evidence=printable(problem.message, 240),
        remediation="Fix the syntax so that pip or the project's tool accepts the file, "
                    "then scan again.",
        details={"count": str(problem.count)},
    )


def database_unreadable(message: str, location: Location) -> Finding:
    return _dep_finding(
        "DZ-DEP-006",
        "The advisory database given with --advisory-db cannot be read; dependencies were "
        "not checked",
        Severity.MEDIUM,
        location,
        evidence=printable(message, 240),
        remediation="Pass a folder, zip or tar of OSV JSON/YAML files (e.g. osv.dev's PyPI "
                    "all.zip), or an index built by tools/build_advisories.py.",
    )
