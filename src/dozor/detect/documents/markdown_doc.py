"""Text of a Markdown file, with what a Markdown viewer does not show.

Markdown hides text in HTML comments, in link-reference "comments" (`[//]: # (text)`),
and in inline HTML styled away. Code spans and fenced blocks are shown literally by every
viewer, so they are kept as visible text and their markup is never interpreted. The rest
goes through the HTML reader, which knows the hiding styles.
"""

from __future__ import annotations

import html
import re

from dozor.detect.documents.html_doc import extract_html
from dozor.detect.documents.model import Document, DocumentLimits, HiddenText

_FENCE = re.compile(r"^(```|~~~)[^\n]*\n.*?^\1[ \t]*$", re.M | re.S)
_INLINE_CODE = re.compile(r"`[^`\n]+`")
_REF_COMMENT = re.compile(r"^\[(?://|comment|_)\]:\s*(?:#|<>)\s*[\(\"'](.*?)[\)\"']\s*$",
                          re.M | re.I)


def extract_markdown(text: str, limits: DocumentLimits) -> Document:
    hidden: list[HiddenText] = []
    for match in _REF_COMMENT.finditer(text):
        line = text.count("\n", 0, match.start()) + 1
        if match.group(1).strip():
            hidden.append(HiddenText(" ".join(match.group(1).split()),
                                     "Markdown comment (link reference)", f"line {line}"))
    text = _REF_COMMENT.sub("", text)
    # Code is shown as written: escape it so the HTML reader treats it as plain text.
    text = _FENCE.sub(lambda m: html.escape(m.group(0)), text)
    text = _INLINE_CODE.sub(lambda m: html.escape(m.group(0)), text)
    doc = extract_html(text, limits, fmt="markdown")
    return Document("markdown", doc.visible, tuple(hidden) + doc.hidden, doc.warnings)
