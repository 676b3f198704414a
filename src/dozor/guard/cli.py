"""`dozor guard`: check one input or answer from a script or CI; the proxy adds `serve`.

Only typer and the standard library are imported at module level, so `dozor --help`
stays fast; the guard loads inside the command.
"""

from __future__ import annotations

import json
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dozor.cli_support import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, fail

MAX_INPUT = 20_000_000
"""Bytes read from a file or standard input at most."""
DOCUMENT_SUFFIXES = (".docx", ".pdf", ".html", ".htm")
"""Read through `dozor.detect.documents` (hidden text included) when it is installed."""

GUARD_HELP = (
    "Run-time protection for LLM applications: check prompts and answers against a "
    "policy (prompt injection, hidden Unicode, encoded payloads, personal data, secrets, "
    "system-prompt leaks, exfiltration links)."
)


class CheckFormat(StrEnum):
    console = "console"
    json = "json"


def read_document(path: Path, notes: list[str] | None = None) -> str:
    """The text of a file to check, as a model would read it.

    Documents (.docx, .pdf, .html, .md, .txt) go through `dozor.detect.documents` when
    this build has it: the text is what is visible followed by what was hidden (white
    or tiny text, hidden CSS, off-page boxes), so the input scanners judge both. Without
    it, .docx/.pdf/.html are refused and anything else is read as UTF-8 text."""
    import importlib

    suffix = path.suffix.lower()
    try:
        documents = importlib.import_module("dozor.detect.documents")
    except ImportError:
        documents = None
    extract_file = getattr(documents, "extract_file", None)
    if extract_file is not None and suffix in (*DOCUMENT_SUFFIXES, ".md", ".markdown", ".txt"):
        error = getattr(documents, "DocumentError", ValueError)
        try:
            doc = extract_file(path)
        except error as exc:
            raise fail(f"{path}: {exc}") from None
        text = getattr(doc, "text", None)
        if isinstance(text, str):
            if notes is not None:
                for h in getattr(doc, "hidden", ())[:20]:
                    notes.append(f"hidden text in the document ({h.reason}, {h.where}): "
                                 f"{len(h.text)} characters, checked with the rest")
            return text
    if suffix in DOCUMENT_SUFFIXES:
        raise fail(f"{path}: reading {suffix} documents needs dozor.detect.documents, which "
                   "this build does not have; convert it to .txt first")
    try:
        with path.open("rb") as fh:
            data = fh.read(MAX_INPUT + 1)
    except OSError as exc:
        raise fail(f"{path}: cannot read it ({exc.strerror or exc})") from None
    if len(data) > MAX_INPUT:
        raise fail(f"{path}: larger than {MAX_INPUT // 1_000_000} MB; check it in parts")
    return data.decode("utf-8", errors="replace")


def check(
    text: Annotated[
        str | None,
        typer.Argument(help="The text to check; '-' reads standard input. Omit it with "
                       "--file.", show_default=False),
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", help="Check the text of this file (.txt, .md; .docx, .pdf and "
                     ".html with hidden-text extraction when available).", dir_okay=False,
                     show_default=False),
    ] = None,
    output_text: Annotated[
        bool,
        typer.Option("--output-text", help="Check it as a model's answer (output scanners: "
                     "leaks, exfiltration images, code) instead of as a prompt."),
    ] = False,
    policy: Annotated[
        Path | None,
        typer.Option("--policy", help="Guard policy YAML; it only states what differs from "
                     "the default policy (see docs/guard.md).", dir_okay=False,
                     show_default=False),
    ] = None,
    fmt: Annotated[
        CheckFormat,
        typer.Option("--format", "-f", help="console: decision, reasons and findings for "
                     "people; json: the full result for scripts."),
    ] = CheckFormat.console,
    show_text: Annotated[
        bool,
        typer.Option("--show-text", help="Also print the text as it would be passed on "
                     "(redacted and anonymised)."),
    ] = False,
    show_policy: Annotated[
        bool,
        typer.Option("--show-policy", help="Print the effective policy (the default merged "
                     "with --policy) as YAML and exit; a starting point for your own."),
    ] = False,
) -> None:
    """Check one prompt (or, with --output-text, one answer). Exit 0 allowed or redacted,
    1 blocked, 2 error."""
    if show_policy:
        import yaml

        from dozor.guard import GuardPolicyError, load_policy

        try:
            loaded = load_policy(policy)
        except GuardPolicyError as exc:
            raise fail(str(exc)) from None
        typer.echo(yaml.safe_dump(dict(loaded.raw), sort_keys=False, allow_unicode=True))
        raise typer.Exit(EXIT_CLEAN)
    if (text is None) == (file is None):
        raise fail("give the text to check or --file FILE (one of them)")
    notes: list[str] = []
    if file is not None:
        content = read_document(file, notes)
    elif text == "-":
        data = sys.stdin.buffer.read(MAX_INPUT + 1)
        if len(data) > MAX_INPUT:
            raise fail(f"standard input is larger than {MAX_INPUT // 1_000_000} MB")
        content = data.decode("utf-8", errors="replace")
    else:
        content = text or ""

    from dozor.guard import Guard, GuardPolicyError

    try:
        guard = Guard.from_policy(policy)
    except GuardPolicyError as exc:
        raise fail(str(exc)) from None
    conv = guard.conversation()
    result = guard.check_output(content, conversation=conv) if output_text \
        else guard.check_input(content, conversation=conv)
    if fmt is CheckFormat.json:
        data = result.to_dict()
        if notes:
            data["notes"] = notes
        if show_text:
            data["text"] = result.text
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        _console(result, show_text, notes)
    raise typer.Exit(EXIT_FINDINGS if result.blocked else EXIT_CLEAN)


def _console(result: object, show_text: bool, notes: list[str]) -> None:
    from rich.console import Console
    from rich.markup import escape

    from dozor.guard import GuardResult

    assert isinstance(result, GuardResult)
    console = Console(highlight=False, soft_wrap=True)
    colour = {"allow": "green", "redact": "yellow", "block": "red"}[str(result.decision)]
    console.print(f"[bold {colour}]{str(result.decision).upper()}[/] "
                  f"({result.seconds * 1000:.1f} ms)")
    for note in notes:
        console.print(f"  note: {escape(note)}")
    for reason in result.reasons:
        console.print(f"  - {escape(reason)}")
    for f in result.findings:
        where = f" at {f.location.offset}" if f.location.offset is not None else ""
        console.print(f"  {f.rule_id} {escape(f'[{f.severity}]')} {escape(f.title)}{where}: "
                      f"{escape(f.evidence)}")
    if show_text:
        console.print("--- text passed on ---")
        console.print(escape(result.text), markup=False)


def register(app: typer.Typer) -> None:
    """Add the `guard` group to the `dozor` command (called by dozor.cli)."""
    guard_app = typer.Typer(name="guard", help=GUARD_HELP, no_args_is_help=True)
    guard_app.command("check")(check)
    try:  # the proxy adds `dozor guard serve` when its package is present
        from dozor.guard.proxy.cli import add_serve
    except ImportError as exc:  # ModuleNotFoundError included
        if not (exc.name or "").startswith("dozor.guard.proxy"):
            raise
    else:
        add_serve(guard_app)
    app.add_typer(guard_app, name="guard")


__all__ = ["EXIT_CLEAN", "EXIT_ERROR", "EXIT_FINDINGS", "check", "register"]
