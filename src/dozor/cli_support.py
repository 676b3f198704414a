"""What every verb of the `dozor` command shares: exit codes, one-line errors, extras.

Verb modules (`dozor.guard.cli`, `dozor.redteam.cli`, ...) import this, never
`dozor.cli`: the CLI wires verbs, it is not a library.
"""

from __future__ import annotations

import importlib
from types import ModuleType

import typer

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def fail(message: str) -> typer.Exit:
    """Print `dozor: error: MESSAGE` to stderr and return the exit to raise (code 2)."""
    typer.echo(f"dozor: error: {message}", err=True)
    return typer.Exit(EXIT_ERROR)


def require(module: str, extra: str) -> ModuleType:
    """Import `module`, or stop with one line naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise fail(
            f"this needs the '{extra}' extra ({exc.name or module} is not installed): "
            f"pip install 'dozor[{extra}]'"
        ) from None
