"""Read the text of a document the way a model would, and find what a person would not see.

An application that hands a user's attachment to a model passes on everything in it,
including text its author hid from human reviewers: white or background-coloured text,
1-point fonts, CSS that hides a block, boxes moved off the page, comments, Unicode tag
characters. `extract` returns the visible text and each hidden run with the reason it is
hidden, so the guard can vet both before the model reads them and `dozor scan` can report
hidden text in documents at rest.

    >>> doc = extract(open("cv.docx", "rb").read(), "cv.docx")
    >>> [(h.reason, h.text[:40]) for h in doc.hidden]

Formats: .docx, .pdf, .html/.htm, .md and .txt. Nothing is rendered, fetched or run.
"""

from __future__ import annotations

import codecs
from pathlib import Path

from dozor.detect.documents.model import Document, DocumentError, DocumentLimits, HiddenText

__all__ = [
    "Document", "DocumentError", "DocumentLimits", "HiddenText", "FORMATS", "detect_format",
    "extract", "extract_file",
]

FORMATS = ("docx", "pdf", "html", "markdown", "text")
_SUFFIX = {
    ".docx": "docx", ".pdf": "pdf", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".md": "markdown", ".markdown": "markdown", ".txt": "text", ".text": "text",
}
_TAG_START, _TAG_END = 0xE0000, 0xE007F


def detect_format(data: bytes, name: str = "") -> str | None:
    """The document format from content first, then the name; None if not a document."""
    head = data[:1024]
    if head.lstrip().startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "docx" if b"word/" in data[:65536] or name.lower().endswith(".docx") else None
    suffix = Path(name).suffix.lower()
    if suffix in _SUFFIX and _SUFFIX[suffix] not in ("pdf", "docx"):
        return _SUFFIX[suffix]
    sample = head.lower().lstrip()
    if sample.startswith((b"<!doctype html", b"<html")):
        return "html"
    return None


def _decode(data: bytes) -> str:
    for bom, encoding in ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"),
                          (codecs.BOM_UTF16_BE, "utf-16")):
        if data.startswith(bom):
            return data.decode(encoding, errors="replace")
    return data.decode("utf-8", errors="replace")


def _tag_smuggling(text: str) -> list[HiddenText]:
    """Runs of Unicode tag characters (invisible; they spell ASCII to a model), as the
    shared Unicode inspector decodes them."""
    if not any(_TAG_START <= ord(c) <= _TAG_END for c in text):
        return []
    from dozor.detect.unicode import inspect_unicode

    return [
        HiddenText(hit.plain, "Unicode tag characters", f"character {hit.start}")
        for hit in inspect_unicode(text).hits
        if hit.kind == "tag" and hit.plain.strip()
    ]


def extract(data: bytes, name: str = "", *, fmt: str | None = None,
            limits: DocumentLimits | None = None) -> Document:
    """Extract a document given as bytes; `name` helps when the content is ambiguous.

    Raises `DocumentError` (one line) for an unreadable or unsupported document.
    """
    limits = limits or DocumentLimits()
    if len(data) > limits.max_bytes:
        raise DocumentError(
            f"the document is {len(data)} bytes, over the {limits.max_bytes} limit"
        )
    kind = fmt or detect_format(data, name) or "text"
    if kind not in FORMATS:
        choices = ", ".join(FORMATS)
        raise DocumentError(f"unsupported document format {kind!r}; use one of {choices}")
    if kind == "docx":
        from dozor.detect.documents.docx_doc import extract_docx

        doc = extract_docx(data, limits)
    elif kind == "pdf":
        from dozor.detect.documents.pdf_doc import extract_pdf

        doc = extract_pdf(data, limits)
    elif kind == "html":
        from dozor.detect.documents.html_doc import extract_html

        doc = extract_html(_decode(data), limits)
    elif kind == "markdown":
        from dozor.detect.documents.markdown_doc import extract_markdown

        doc = extract_markdown(_decode(data), limits)
    else:
        doc = Document("text", _decode(data)[: limits.max_text_chars], ())
    smuggled = _tag_smuggling(doc.visible)
    if smuggled:
        visible = "".join(c for c in doc.visible if not _TAG_START <= ord(c) <= _TAG_END)
        doc = Document(doc.format, visible, doc.hidden + tuple(smuggled), doc.warnings)
    return doc


def extract_file(path: str | Path, *, limits: DocumentLimits | None = None) -> Document:
    """Extract a document file; `DocumentError` for a missing, oversized or unreadable one."""
    limits = limits or DocumentLimits()
    p = Path(path)
    try:
        size = p.stat().st_size
        if size > limits.max_bytes:
            raise DocumentError(f"{p.name} is {size} bytes, over the {limits.max_bytes} limit")
        data = p.read_bytes()
    except OSError as exc:
        raise DocumentError(f"cannot read {p}: {exc.strerror or exc}") from None
    return extract(data, p.name, limits=limits)
