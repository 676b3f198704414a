"""Chat templates outside GGUF: ``tokenizer_config.json``, ``chat_template.json/.jinja``.

Why: Hugging Face repositories keep the same Jinja2 chat template that GGUF embeds in
``tokenizer_config.json`` (a string, or a list of ``{"name", "template"}``), in
``chat_template.json`` and, in newer transformers, in ``chat_template.jinja``.
Runtimes that render it without a sandbox run whatever it reaches, so it gets the same
parse-only analysis as GGUF templates (`jinja_template.analyze_template`).

Rule ids are ``DZ-TPL-*`` rather than ``DZ-GGUF-*`` because the file is not GGUF; the
meaning mirrors the GGUF template rules:

- DZ-TPL-001 CRITICAL: template reaches Python internals or command-running calls
  (same check as DZ-GGUF-001).
- DZ-TPL-002 MEDIUM: template (or the JSON holding it) cannot be parsed, so it was not
  checked (as DZ-GGUF-002).
- DZ-TPL-003 HIGH: sandbox-escape building blocks (as DZ-GGUF-005).
- DZ-TPL-004 MEDIUM: include/import/extends or private attributes (as DZ-GGUF-006).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, ScanContext, finding, printable
from dozor.scan.models.jinja_template import (
    CODE_EXECUTION,
    LOADER,
    SUSPICIOUS,
    UNPARSEABLE,
    analyze_template,
    template_findings,
)

SCANNER = "chat-template"
MAX_CONFIG_BYTES = 64 << 20
"""tokenizer_config.json files are at most a few MB (added-token tables)."""
MAX_TEMPLATES = 64

TEMPLATE_RULES = {
    CODE_EXECUTION: "DZ-TPL-001",
    UNPARSEABLE: "DZ-TPL-002",
    SUSPICIOUS: "DZ-TPL-003",
    LOADER: "DZ-TPL-004",
}


def scan_tokenizer_config(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Analyse the ``chat_template`` of a tokenizer_config.json or chat_template.json."""
    if blob.size > MAX_CONFIG_BYTES:
        yield _not_checked(blob, f"file of {blob.size} bytes is larger than the limit")
        return
    try:
        config = json.loads(bytes(blob.data).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        yield _not_checked(blob, f"not valid JSON: {printable(str(exc), 120)}")
        return
    if not isinstance(config, dict):
        return
    for member, source in _templates(config.get("chat_template")):
        ctx.check_time()
        yield from template_findings(
            analyze_template(source),
            blob.location.child(member),
            rules=TEMPLATE_RULES,
            scanner=SCANNER,
            source=member,
        )


def scan_chat_template_text(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Analyse a bare template file (``chat_template.jinja``)."""
    if blob.size > MAX_CONFIG_BYTES:
        yield _not_checked(blob, f"file of {blob.size} bytes is larger than the limit")
        return
    ctx.check_time()
    source = bytes(blob.data).decode("utf-8-sig", "replace")
    yield from template_findings(
        analyze_template(source),
        blob.location,
        rules=TEMPLATE_RULES,
        scanner=SCANNER,
        source=blob.name or "chat_template",
    )


def _templates(value: object) -> Iterator[tuple[str, str]]:
    """(member name, source) for a ``chat_template`` value: a string or a named list."""
    if isinstance(value, str):
        yield "chat_template", value
    elif isinstance(value, list):
        for i, item in enumerate(value[:MAX_TEMPLATES]):
            if isinstance(item, dict) and isinstance(item.get("template"), str):
                name = item.get("name")
                label = printable(name, 60) if isinstance(name, str) else str(i)
                yield f"chat_template[{label}]", item["template"]
    elif isinstance(value, dict):  # some tools write {"name": template}
        for i, (name, source) in enumerate(value.items()):
            if i >= MAX_TEMPLATES:
                break
            if isinstance(source, str):
                yield f"chat_template[{printable(name, 60)}]", source


def _not_checked(blob: Blob, message: str) -> Finding:
    return finding(
        "DZ-TPL-002",
        "Chat template could not be parsed, so it was not checked",
        Severity.MEDIUM,
        blob.location,
        evidence=message,
        remediation="Fix or replace the file, then scan again; review its chat template by hand.",
        scanner=SCANNER,
    )
