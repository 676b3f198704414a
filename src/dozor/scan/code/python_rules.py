"""The ``python-code`` handler: parse a ``.py`` file with `ast` and run the code rules.

Why parse rather than grep: ``model.eval()`` and ``eval(answer)``, ``pickle.dumps``
and ``pickle.loads``, ``torch.load(f, weights_only=True)`` and ``torch.load(f)`` look
alike to a regular expression and differ in the syntax tree, and aliases
(``import torch as t``) only resolve there. The source is parsed, never imported or
run. Parsing is bounded: files over `MAX_SOURCE_BYTES` and sources that are nested
deeper than the interpreter's recursion limit are reported as not checked (INFO), and
a file that is not valid Python 3 (Python 2, templates) gives only an INFO finding,
because repositories are full of them and they are no risk by themselves.

`analyze_source` is shared with the notebook handler, which feeds it code cells.
"""

from __future__ import annotations

import ast
import warnings
from collections.abc import Callable, Iterator

from dozor.findings import Finding, Location
from dozor.scan.base import Blob, ScanContext, finding, printable
from dozor.scan.code.checks import PatternChecker
from dozor.scan.code.rules import RULES, Hit
from dozor.scan.code.survey import survey
from dozor.scan.code.taint import TaintAnalysis

SCANNER = "python-code"
MAX_SOURCE_BYTES = 5 << 20
"""Larger .py files are generated code or data; they are reported, not parsed."""


def scan_python(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Run every code rule on a Python source file."""
    if blob.size > MAX_SOURCE_BYTES:
        yield not_checked(blob.location, f"{blob.size} bytes, over the limit of "
                          f"{MAX_SOURCE_BYTES >> 20} MiB")
        return
    ctx.check_time()
    hits, error = analyze_source(bytes(blob.data))
    if error:
        yield not_checked(blob.location, error)
    for hit in hits:
        yield hit_finding(hit, blob.location.at(line=hit.line))


def analyze_source(source: str | bytes) -> tuple[list[Hit], str]:
    """Parse `source` and run the rules: (hits sorted by line, why it was not analysed).

    Bytes honour a PEP 263 coding line. Never raises for bad input.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # invalid escapes etc. are not our findings
            tree = ast.parse(source)
    except SyntaxError as exc:
        where = f" at line {exc.lineno}" if exc.lineno else ""
        return [], f"not valid Python 3{where}: {printable(exc.msg or '', 80)}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return [], f"cannot be parsed: {printable(str(exc) or type(exc).__name__, 80)}"
    try:
        return analyze_tree(tree), ""
    except RecursionError:
        return [], "nested too deeply to analyse"


def analyze_tree(tree: ast.Module) -> list[Hit]:
    """Every rule's hits in one parsed module, without duplicates, by line."""
    found = survey(tree)
    hits = PatternChecker(found).run() + TaintAnalysis(found).run()
    unique: dict[tuple[str, int, str], Hit] = {}
    for hit in hits:
        unique.setdefault((hit.rule.id, hit.line, hit.evidence), hit)
    return sorted(unique.values(), key=lambda h: (h.line, h.rule.id))


def source_line(line: int) -> str:
    """How a line of a source file is named in evidence."""
    return f"line {line}"


def hit_finding(
    hit: Hit,
    location: Location,
    scanner: str = SCANNER,
    where: Callable[[int], str] = source_line,
) -> Finding:
    """The finding for a rule hit at `location`; `where` names a parsed line for evidence
    (a notebook maps it to a cell and a line in it)."""
    rule = hit.rule
    evidence = hit.evidence
    details = dict(hit.details)
    if hit.source_line:
        details["source_line"] = where(hit.source_line)
        details["sink_line"] = where(hit.line)
        evidence += f" ({details['source_line']} -> {details['sink_line']})"
    return finding(
        rule.id,
        rule.title,
        rule.severity,
        location,
        evidence=printable(evidence, 240),
        remediation=rule.remediation,
        scanner=scanner,
        confidence=rule.confidence,
        taxonomy=rule.taxonomy,
        details=details,
    )


def not_checked(location: Location, why: str, scanner: str = SCANNER) -> Finding:
    """INFO: this source was not analysed, and why."""
    return hit_finding(Hit(RULES["DZ-CODE-090"], location.line or 0, why), location, scanner)
