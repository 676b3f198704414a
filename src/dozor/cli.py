"""The `dozor` command: it parses arguments and wires verbs to the library, nothing more.

Exit codes (the same for every verb):
  0  nothing at or above the --fail-on threshold
  1  findings at or above the threshold
  2  usage error, unreadable input or policy, or an interrupted run
"""

from __future__ import annotations

import importlib
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from dozor import __version__
from dozor.cli_support import EXIT_CLEAN, EXIT_ERROR, EXIT_FINDINGS, fail

# Verbs that live beside their library: each module has `register(app)` and imports
# nothing heavy at module level, so `dozor --help` stays fast.
VERB_MODULES = (
    "dozor.guard.cli",
    "dozor.redteam.cli",
    "dozor.data.cli",
    "dozor.robust.cli",
    "dozor.supply.cli",
)

app = typer.Typer(
    name="dozor",
    help="dozor: security for machine-learning systems. Scans model files without "
    "ever loading them.",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode="rich",
    context_settings={"help_option_names": ["-h", "--help"]},
)


class Format(StrEnum):
    console = "console"
    json = "json"
    sarif = "sarif"
    html = "html"


_fail = fail


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dozor {__version__}")
        raise typer.Exit(EXIT_CLEAN)


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    pass


@app.command()
def scan(
    paths: Annotated[
        list[Path] | None,
        typer.Argument(help="Files or folders to scan (folders are walked recursively).",
                       show_default=False),
    ] = None,
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Report format.")
    ] = Format.console,
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the report to this file (written whole or "
                     "not at all) instead of standard output.", dir_okay=False),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option("--fail-on", help="Exit 1 when a finding is at or above this severity: "
                     "info, low, medium, high, critical. [default: medium, or the policy's "
                     "fail_on]", show_default=False),
    ] = None,
    policy_file: Annotated[
        Path | None,
        typer.Option("--policy", "-p", help="Policy file [default: .dozor.yaml in the current "
                     "folder, if present].", exists=False, dir_okay=False, show_default=False),
    ] = None,
    workers: Annotated[
        int | None,
        typer.Option("--workers", "-j", min=1, help="Worker processes [default: one per CPU].",
                     show_default=False),
    ] = None,
    progress: Annotated[
        bool, typer.Option("--progress/--no-progress", help="Show a progress bar on folders "
                           "(only when standard error is a terminal).")
    ] = True,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Console report: also list every file "
                           "scanned and show full evidence.")
    ] = False,
    installed: Annotated[
        bool, typer.Option("--installed", help="Also audit the packages installed in the "
                           "Python environment dozor runs in (offline advisory database).")
    ] = False,
    advisory_db: Annotated[
        Path | None,
        typer.Option("--advisory-db", help="Use this OSV export (a folder, zip or tar of OSV "
                     "JSON/YAML files) instead of the bundled advisory snapshot.",
                     show_default=False),
    ] = None,
) -> None:
    """Scan model files, archives and folders statically; nothing is ever loaded or run.

    Each file's format is read from its content, not its name: pickle (and joblib, dill,
    cloudpickle, numpy object arrays), PyTorch (zip, legacy and TorchScript), Keras,
    HDF5, TensorFlow SavedModel, ONNX, GGUF, safetensors, and zip, tar, 7z and
    compressed containers around any of them.

    [b]Examples[/b]

      dozor scan model.pt

      dozor scan models/ --format sarif --output dozor.sarif

      dozor scan checkpoint.ckpt --fail-on high

      dozor scan . --installed          (a repository, plus this Python environment)
    """
    from dozor.findings import Severity
    from dozor.policy import PolicyError, load_policy

    try:
        policy = load_policy(str(policy_file) if policy_file else None)
    except PolicyError as exc:
        raise _fail(str(exc)) from None
    threshold = policy.fail_on
    if fail_on is not None:
        try:
            threshold = Severity.parse(fail_on)
        except ValueError as exc:
            raise _fail(f"--fail-on: {exc}") from None
    if output is not None and output.parent and not output.parent.is_dir():
        raise _fail(f"--output: folder {output.parent} does not exist")
    if not paths and not installed:
        raise _fail("nothing to scan: give files or folders, or --installed")
    options: dict[str, str] = {}
    if advisory_db is not None:
        if not advisory_db.exists():
            raise _fail(f"--advisory-db: {advisory_db} does not exist")
        options["advisory_db"] = str(advisory_db)

    report = _run_scan(paths or [], policy.limits, options, workers, progress)
    if installed:
        try:
            from dozor.scan.deps.environment import scan_installed
        except ImportError:
            raise _fail("--installed needs the dependency scanner, which is not installed") \
                from None
        report.findings.extend(scan_installed(options))
    policy.apply(report)
    _render(report, fmt.value, output, verbose)
    if report.errors:
        for err in report.errors:
            typer.echo(f"dozor: error: {err}", err=True)
        raise typer.Exit(EXIT_ERROR)
    raise typer.Exit(EXIT_FINDINGS if report.at_least(threshold) else EXIT_CLEAN)


def _run_scan(paths: list[Path], limits, options, workers, progress: bool):  # type: ignore[no-untyped-def]
    from dozor.scan.engine import scan_paths

    show = progress and sys.stderr.isatty()
    if not show:
        return scan_paths(paths, limits=limits, options=options, workers=workers)
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
    )

    with Progress(
        TextColumn("scanning"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        transient=True,
        redirect_stdout=False,
    ) as bar:
        task = bar.add_task("scan", total=None)

        def on_total(n: int) -> None:
            bar.update(task, total=n, visible=n > 1)

        def on_done(_: object) -> None:
            bar.advance(task)

        return scan_paths(paths, limits=limits, options=options, workers=workers,
                          on_total=on_total, on_done=on_done)


def _render(report, fmt: str, output: Path | None, verbose: bool) -> None:  # type: ignore[no-untyped-def]
    from dozor.report import render_to

    try:
        if output is not None:
            render_to(report, fmt, output, base_dir=Path.cwd(), verbose=verbose)
        else:
            render_to(report, fmt, sys.stdout, base_dir=Path.cwd(), verbose=verbose)
    except OSError as exc:
        raise _fail(f"cannot write report: {exc.strerror or exc}") from None


def _register_verbs() -> None:
    for name in VERB_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name and name.startswith(exc.name):
                continue  # that part of dozor is not in this build
            raise
        module.register(app)


_register_verbs()


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        typer.echo("dozor: interrupted", err=True)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
