"""`dozor scan` for documents: text hidden from people in .docx, .pdf, .html, .md and .txt.

A document that will be given to a model (a CV in a hiring pipeline, a page a RAG system
indexes, a README an agent reads) can carry instructions its author hid from human
reviewers. The extraction is `dozor.detect.documents`, shared with the guard; this
handler turns what it finds into findings, and raises the severity when the hidden text
reads as an instruction to a model (`dozor.detect.injection`).
"""

from __future__ import annotations

from collections.abc import Iterator

from dozor.detect.documents import DocumentError, DocumentLimits, extract
from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, ScanContext, finding, printable

SCANNER = "documents"
TAXONOMY = ("LLM01:2025", "AML.T0051.001", "AML.T0068")
_COMMENT_REASONS = ("HTML comment", "Markdown comment (link reference)")
_MAX_FINDINGS = 50


def _is_instruction(text: str) -> tuple[bool, float]:
    try:
        from dozor.detect.injection import detect_injection
    except Exception:  # noqa: BLE001 - without the detector, hidden text is still reported
        return False, 0.0
    try:
        result = detect_injection(text)
    except Exception:  # noqa: BLE001 - a detector fault must not lose the other findings
        return False, 0.0
    return bool(result.flagged), float(result.score)


def scan_document(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Report hidden runs of text; instructions hidden in a document are high severity."""
    ctx.check_time()
    try:
        doc = extract(bytes(blob.data), blob.name, limits=DocumentLimits(max_seconds=20.0))
    except DocumentError as exc:
        yield finding(
            "DZ-DOC-004", "Document could not be read; its text was not checked",
            Severity.LOW, blob.location, evidence=printable(str(exc), 200),
            remediation="Check the file is an intact document of the kind its name says.",
            scanner=SCANNER, taxonomy=TAXONOMY,
        )
        return
    count = 0
    for hidden in doc.hidden:
        if count >= _MAX_FINDINGS:
            break
        ctx.check_time()
        instruction, score = _is_instruction(hidden.text)
        details = {"reason": hidden.reason, "where": hidden.where, "format": doc.format,
                   "chars": str(len(hidden.text))}
        evidence = f"{hidden.reason} at {hidden.where}: {printable(hidden.text, 120)}"
        if instruction:
            details["injection_score"] = f"{score:.2f}"
            yield finding(
                "DZ-DOC-001", "Hidden text in a document gives instructions to a model",
                Severity.HIGH, blob.location, evidence=evidence, details=details,
                remediation="Do not pass this document to a model; remove the hidden text "
                "and find out who added it.",
                scanner=SCANNER, taxonomy=TAXONOMY, confidence=max(0.5, score),
            )
        elif hidden.reason in _COMMENT_REASONS:
            yield finding(
                "DZ-DOC-003", "Comment in a document (not shown to readers, read by models)",
                Severity.INFO, blob.location, evidence=evidence, details=details,
                remediation="Usually harmless; strip comments before giving documents "
                "to a model.",
                scanner=SCANNER, taxonomy=TAXONOMY,
            )
        else:
            yield finding(
                "DZ-DOC-002", "Text in a document is hidden from readers",
                Severity.MEDIUM, blob.location, evidence=evidence, details=details,
                remediation="Check why the text is hidden; remove it before a model reads "
                "the document.",
                scanner=SCANNER, taxonomy=TAXONOMY,
            )
        count += 1
    for warning in doc.warnings[:5]:
        yield finding(
            "DZ-DOC-004", "Document was only partly read", Severity.LOW, blob.location,
            evidence=printable(warning, 200), scanner=SCANNER, taxonomy=TAXONOMY,
            remediation="Check the rest of the document by other means.",
        )
