"""Renderers: one module per output format, each a function of a `Report`.

A renderer only formats; it never filters, decides exit codes or reads the policy.
`render_to` is the one place that knows the format names the CLI offers and how
each is written to a stream or a file.
"""

from __future__ import annotations

import os
from typing import IO, Union

from dozor.findings import Report

FORMATS = ("console", "json", "sarif", "html")

Target = Union[IO[str], str, "os.PathLike[str]"]


def render_to(
    report: Report,
    fmt: str,
    stream_or_path: Target,
    base_dir: str | os.PathLike[str] | None = None,
    *,
    verbose: bool = False,
) -> None:
    """Write `report` in format `fmt` to an open text stream or to a file path.

    A path is written whole or not at all (rendered first, then replaced
    atomically), so an interrupted run never leaves half a SARIF file for CI to upload.
    """
    if fmt not in FORMATS:
        raise ValueError(f"unknown report format {fmt!r}; choose one of {', '.join(FORMATS)}")
    if isinstance(stream_or_path, (str, os.PathLike)):
        _write_file(os.fspath(stream_or_path), _render_text(report, fmt, base_dir, verbose))
        return
    if fmt == "console":
        from rich.console import Console

        from dozor.report import console

        console.render(report, Console(file=stream_or_path), verbose=verbose)
        return
    stream_or_path.write(_render_text(report, fmt, base_dir, verbose))


def _render_text(
    report: Report, fmt: str, base_dir: str | os.PathLike[str] | None, verbose: bool
) -> str:
    if fmt == "json":
        from dozor.report import json_report

        return json_report.render(report) + "\n"
    if fmt == "sarif":
        from dozor.report import sarif

        return sarif.render(report, base_dir) + "\n"
    if fmt == "html":
        from dozor.report import html

        return html.render(report)
    import io

    from rich.console import Console

    from dozor.report import console

    buffer = io.StringIO()
    # A file gets plain text: no colour codes, a fixed width that reads well in an editor.
    console.render(
        report,
        Console(file=buffer, no_color=True, width=100, force_terminal=False),
        verbose=verbose,
    )
    # rich pads table cells to the column width; a file needs no trailing blanks
    return "".join(line.rstrip() + "\n" for line in buffer.getvalue().splitlines())


def _write_file(path: str, text: str) -> None:
    directory = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(directory, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


__all__ = ["FORMATS", "render_to"]
