"""The ``notebook`` handler: code rules on Jupyter code cells, secrets in every cell and output.

Why notebooks need their own handler: an ``.ipynb`` file is JSON, so neither a Python
parser nor a line-based secret scan sees it as it is. Code cells hold the same risky
loaders as ``.py`` files, mixed with IPython syntax (``!pip install``, ``%matplotlib``)
that is not Python, and saved *outputs* leak what code printed: tokens echoed by
``!env``, keys in tracebacks, credentials in rendered HTML.

How: the JSON (nbformat 4, or 3 with worksheets; sources as a string or a list of
strings) is read with limits. IPython lines are replaced by ``pass`` so the cell still
parses, with its line numbers intact; shell lines (``!cmd``, ``%%bash``) are checked as
command lines instead. All code cells are parsed as one module, as the kernel runs them,
so an ``import torch as t`` in cell 1 resolves ``t.load`` in cell 7 and taint crosses
cells; if that fails, each cell is analysed alone. Cells are numbered from 1 in file
order (markdown included), as a reader counts them. Secret detection is the shared
detector in `dozor.detect.secrets`; when that module is absent, secrets are skipped.
Nothing in the notebook is executed or rendered.
"""

from __future__ import annotations

import ast
import json
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext, finding, printable
from dozor.scan.code.checks import command_text_hits
from dozor.scan.code.python_rules import analyze_source, hit_finding, not_checked
from dozor.scan.code.rules import Hit

SCANNER = "notebook"
MAX_NOTEBOOK_BYTES = 64 << 20
"""Notebooks with image outputs reach tens of MiB; larger ones are reported, not read."""
MAX_CELLS = 20_000
MAX_CELL_CHARS = 5 << 20
"""A cell source larger than this is not parsed (as for .py files)."""
MAX_OUTPUT_CHARS = 4 << 20
"""Text of one cell's outputs that is searched for secrets; the rest is cut off."""

# Cell magics whose body is still Python, and those whose body is a shell script.
_PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug", "memit",
                                 "cache", "px", "autoreload"})
_SHELL_CELL_MAGICS = frozenset({"bash", "sh", "script", "system", "sx"})
_SHELL_LINE_MAGICS = frozenset({"sx", "system"})
_ASSIGNED_SHELL = re.compile(r"^[\w.\[\]'\", ]+?\s*=\s*([!%])(.*)$")
_HELP = re.compile(r"(?:\?{1,2}[\w.]+\*?|[\w.]+\*?\?{1,2})\s*$")  # obj? ??obj os.*?
_ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
_TEXT_KEYS = ("html", "latex", "markdown", "javascript", "json")  # nbformat 3 outputs


@dataclass
class Cell:
    """One cell as read from the file."""

    number: int
    """1-based position among all cells, as a reader counts them."""
    kind: str
    """``code``, ``markdown``, ``raw`` (anything else is kept as text)."""
    source: str
    outputs: list[str] = field(default_factory=list)
    """Text of each output: stream text, text/* data, error tracebacks."""


class MalformedNotebook(ValueError):
    """The file is not a notebook this handler can read; the message says why."""


def scan_notebook(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Code rules on code cells; secrets in cell sources and outputs."""
    try:
        cells, python = read_notebook(blob)
    except MalformedNotebook as exc:
        yield _malformed(blob.location, str(exc))
        return
    if len(cells) > MAX_CELLS:
        yield _malformed(blob.location, f"{len(cells)} cells, over the limit of {MAX_CELLS}; "
                         "the rest were not checked")
        cells = cells[:MAX_CELLS]
    if python:
        yield from _code_findings(blob.location, [c for c in cells if c.kind == "code"], ctx)
    detect = _secret_detector()
    if detect is None:
        return
    for cell in cells:
        ctx.check_time()
        if cell.source:
            yield from detect(cell.source, blob.location.child(f"cell {cell.number}"))
        text = "\n".join(cell.outputs)[:MAX_OUTPUT_CHARS]
        if text:
            yield from detect(text, blob.location.child(f"cell {cell.number} output"))


# -- reading -------------------------------------------------------------------------
def read_notebook(blob: Blob) -> tuple[list[Cell], bool]:
    """The cells of a notebook, and whether its code is Python.

    Raises MalformedNotebook for input that is not a notebook; parts of a notebook with
    unexpected types (a cell that is not an object, a source that is a number) are
    skipped.
    """
    if blob.size > MAX_NOTEBOOK_BYTES:
        raise MalformedNotebook(f"{blob.size} bytes, over the limit of "
                                f"{MAX_NOTEBOOK_BYTES >> 20} MiB; not checked")
    try:
        doc = json.loads(bytes(blob.data).decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise MalformedNotebook(f"not valid JSON: {printable(str(exc), 100)}") from None
    if not isinstance(doc, dict):
        raise MalformedNotebook("the JSON is not an object")
    raw_cells: list[Any] = []
    if isinstance(doc.get("cells"), list):
        raw_cells = doc["cells"]
    elif isinstance(doc.get("worksheets"), list):  # nbformat 3 and older
        for sheet in doc["worksheets"]:
            if isinstance(sheet, dict) and isinstance(sheet.get("cells"), list):
                raw_cells.extend(sheet["cells"])
    else:
        raise MalformedNotebook("no list of cells (neither 'cells' nor 'worksheets')")
    cells = []
    for number, raw in enumerate(raw_cells, start=1):
        if not isinstance(raw, dict):
            continue
        kind = raw["cell_type"] if isinstance(raw.get("cell_type"), str) else ""
        source = _text(raw.get("source") if "source" in raw else raw.get("input"))
        outputs = raw["outputs"] if isinstance(raw.get("outputs"), list) else []
        cells.append(Cell(number, kind, source, [t for o in outputs if (t := _output_text(o))]))
    return cells, _is_python(doc)


def _text(value: object) -> str:
    """A notebook string: a str, or a list of str joined (other types are no text)."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return "".join(v for v in value if isinstance(v, str))
    return ""


def _output_text(output: object) -> str:
    if not isinstance(output, dict):
        return ""
    parts = [_text(output.get("text"))]
    data = output.get("data")
    if isinstance(data, dict):
        for mime, value in data.items():
            if not isinstance(mime, str):
                continue
            if mime.endswith("json"):
                parts.append(value if isinstance(value, str) else _json_text(value))
            elif mime.startswith("text/"):
                parts.append(_text(value))
    parts.extend(_text(output.get(key)) for key in _TEXT_KEYS)
    if isinstance(output.get("traceback"), list):
        parts.append(_ANSI.sub("", "\n".join(v for v in output["traceback"]
                                             if isinstance(v, str))))
        parts.append(f"{_text(output.get('ename'))}: {_text(output.get('evalue'))}")
    return "\n".join(p for p in parts if p and p != ": ")


def _json_text(value: object) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, indent=1)
    except (TypeError, ValueError, RecursionError):
        return ""


def _is_python(doc: dict[str, Any]) -> bool:
    """False only when the metadata names another kernel language (R, Julia, ...)."""
    meta = doc.get("metadata")
    if not isinstance(meta, dict):
        return True
    for value in (
        (meta.get("kernelspec") or {}).get("language") if isinstance(meta.get("kernelspec"),
                                                                     dict) else None,
        (meta.get("language_info") or {}).get("name") if isinstance(meta.get("language_info"),
                                                                    dict) else None,
        meta.get("language"),
    ):
        if isinstance(value, str) and value:
            return value.lower().startswith(("python", "ipython"))
    return True


# -- code cells ----------------------------------------------------------------------
@dataclass
class _CodeCell:
    cell: Cell
    python: str
    """The source with IPython syntax replaced by ``pass`` (same number of lines)."""
    commands: list[Hit]
    """Hits from shell lines, with cell-local line numbers."""
    error: str = ""
    """Why `python` does not parse, if it does not."""


def _code_findings(location: Location, cells: list[Cell], ctx: ScanContext) -> Iterator[Finding]:
    code_cells: list[_CodeCell] = []
    for cell in cells:
        ctx.check_time()
        where = location.child(f"cell {cell.number}")
        if len(cell.source) > MAX_CELL_CHARS:
            yield not_checked(where, f"cell of {len(cell.source)} characters, over the limit",
                              SCANNER)
            continue
        code = _python_of(cell)
        for hit in code.commands:
            yield hit_finding(hit, where.at(line=hit.line), SCANNER)
        if code.error:
            yield not_checked(where, code.error, SCANNER)
        elif code.python.strip():
            code_cells.append(code)
    # one module, as the kernel runs the cells; each cell alone if that does not parse
    combined = "\n".join(c.python for c in code_cells)
    starts, line = [], 1
    for c in code_cells:
        starts.append(line)
        line += c.python.count("\n") + 1
    def cell_line(line: int) -> tuple[int, int]:
        index = _cell_at(starts, line)
        return code_cells[index].cell.number, line - starts[index] + 1

    def label(line: int) -> str:
        number, local = cell_line(line)
        return f"cell {number} line {local}"

    hits, error = analyze_source(combined)
    if not error:
        for hit in hits:
            number, local = cell_line(hit.line)
            where = location.child(f"cell {number}").at(line=local)
            yield hit_finding(hit, where, SCANNER, label)
        return
    for c in code_cells:
        ctx.check_time()
        place = location.child(f"cell {c.cell.number}")
        hits, error = analyze_source(c.python)
        if error:
            yield not_checked(place, error, SCANNER)
        for hit in hits:
            yield hit_finding(hit, place.at(line=hit.line), SCANNER, _labeller(c.cell.number))


def _labeller(number: int) -> Callable[[int], str]:
    """Names a line of cell `number` in evidence."""
    return lambda line: f"cell {number} line {line}"


def _cell_at(starts: list[int], line: int) -> int:
    """Index of the cell whose first line is the last one at or before `line`."""
    index = 0
    low, high = 0, len(starts) - 1
    while low <= high:
        mid = (low + high) // 2
        if starts[mid] <= line:
            index, low = mid, mid + 1
        else:
            high = mid - 1
    return index


def _python_of(cell: Cell) -> _CodeCell:
    """The cell's Python with IPython syntax neutralised, plus hits from its shell lines."""
    source = cell.source.replace("\r\n", "\n").replace("\r", "\n")  # cells count "\n" lines
    if _parse_error(source) is None:
        return _CodeCell(cell, source, [])  # plain Python: no IPython syntax to strip
    lines = source.split("\n")
    commands: list[Hit] = []
    first = lines[0].strip()
    if first.startswith("%%"):
        magic, _, rest = first[2:].partition(" ")
        if magic in _PYTHON_CELL_MAGICS or (magic == "writefile" and rest.strip().endswith(".py")):
            lines[0] = ""  # the body is Python
        else:  # a script in another language: only shell scripts are checked, as commands
            if magic in _SHELL_CELL_MAGICS:
                for n, text in enumerate(lines[1:], start=2):
                    commands.extend(command_text_hits(text, n, is_command=True))
            return _CodeCell(cell, "\n" * (len(lines) - 1), commands)
    for n, text in enumerate(lines):
        stripped = text.lstrip()
        indent = text[: len(text) - len(stripped)]
        command: str | None = None
        if stripped.startswith("!"):
            command = stripped[1:]
        elif stripped.startswith("%"):
            name, _, rest = stripped[1:].partition(" ")
            command = rest if name in _SHELL_LINE_MAGICS else ""
        elif (m := _ASSIGNED_SHELL.match(stripped)) is not None:
            command = m.group(2) if m.group(1) == "!" else ""
        elif _HELP.match(stripped):
            command = ""
        if command is None:
            continue
        if command:
            commands.extend(command_text_hits(command, n + 1, is_command=True))
        lines[n] = indent + "pass"
    python = "\n".join(lines)
    return _CodeCell(cell, python, commands, _parse_error(python) or "")


def _parse_error(source: str) -> str | None:
    """Why `source` is not Python 3, or None if it parses."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except SyntaxError as exc:
        return f"not valid Python 3 at line {exc.lineno}: {printable(exc.msg or '', 80)}"
    except (ValueError, RecursionError, MemoryError) as exc:
        return f"cannot be parsed: {printable(str(exc) or type(exc).__name__, 80)}"
    return None


# -- secrets and malformed files -----------------------------------------------------
SecretDetector = Callable[[str, Location], list[Finding]]


def _secret_detector() -> SecretDetector | None:
    """The shared secret detector, or None while `dozor.detect.secrets` is not installed."""
    try:
        from dozor.detect import secrets
    except ImportError:
        return None

    def detect(text: str, location: Location) -> list[Finding]:
        return list(secrets.secret_findings(secrets.find_secrets(text), location, "secrets"))

    return detect


def _malformed(location: Location, why: str) -> Finding:
    return finding(
        "DZ-NB-001",
        "Malformed or over-limit notebook; it was not fully checked",
        Severity.MEDIUM,
        location,
        evidence=why,
        remediation="Open and re-save it with Jupyter (or nbformat) to repair it, or check "
        "its code and outputs by hand.",
        scanner=SCANNER,
        taxonomy=(),
    )
