"""`dozor anonymize`, `dozor fingerprint`, `dozor diff` and `dozor data check`.

Argument parsing and output only; the work is in `dozor.data.anonymize`,
`dozor.data.fingerprint` and `dozor.data.labels`. Heavy imports (pyarrow, numpy,
scikit-learn, cryptography) happen inside the commands, so `dozor --help` stays fast.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Callable, Iterator
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from dozor.cli_support import EXIT_CLEAN, EXIT_FINDINGS, fail, require

data_app = typer.Typer(
    name="data", help="Checks on training data: label errors, duplicates with conflicting "
    "labels, outliers, class-balance shifts and backdoor-trigger hints.",
    no_args_is_help=True, rich_markup_mode="rich")


class OutFormat(StrEnum):
    console = "console"
    json = "json"


class LabelModel(StrEnum):
    linear = "linear"
    boosting = "boosting"


class ReportFormat(StrEnum):
    console = "console"
    json = "json"
    sarif = "sarif"
    html = "html"


@contextlib.contextmanager
def _progress(label: str, total: int | None, enabled: bool) -> Iterator[Callable[[int], None]]:
    """A rich progress display on stderr counting rows; silent when not a terminal."""
    if not enabled or not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn(label), BarColumn(), MofNCompleteColumn(), TextColumn("rows"),
                  TimeElapsedColumn(), console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


@contextlib.contextmanager
def _stages(enabled: bool) -> Iterator[Callable[[str], None]]:
    """A rich spinner on stderr naming the running step; silent when not a terminal."""
    if not enabled:
        yield lambda name: None
        return
    from rich.console import Console

    with Console(stderr=True).status("checking") as status:
        yield lambda name: status.update(f"checking: {name}")


def _need_data_extra() -> None:
    for module in ("pyarrow", "numpy"):
        require(module, "data")


def _rows_hint(path: Path) -> int | None:
    try:
        from dozor.data.readers import open_table

        with open_table(path) as reader:
            return reader.num_rows
    except (OSError, ValueError):
        return None


def anonymize(
    source: Annotated[Path, typer.Argument(help="Table to anonymise: CSV, TSV, Parquet or "
                                           "JSON Lines (format read from the name or content).",
                                           show_default=False)],
    target: Annotated[Path, typer.Argument(help="Where to write the result, in the same "
                                           "format; written whole or not at all.",
                                           show_default=False)],
    policy_file: Annotated[Path | None, typer.Option(
        "--policy", "-p", help="YAML policy mapping columns and entity types to operators "
        "(redact, mask, generalize, hash, fake, encrypt, keep) \\[default: every detected "
        "value is pseudonymised with hash].", show_default=False, dir_okay=False)] = None,
    key_file: Annotated[Path | None, typer.Option(
        "--key-file", "-k", help="Secret key for hash, fake and encrypt (64 hex characters "
        "or at least 16 bytes) \\[default: $DOZOR_ANON_KEY]. The same key gives the same "
        "pseudonyms in every table, so joins still match.", show_default=False,
        dir_okay=False)] = None,
    create_key: Annotated[bool, typer.Option(
        "--create-key", help="Create a new random key in --key-file first (refuses to "
        "overwrite). Keep it: without it encrypted values cannot be restored.")] = False,
    reverse: Annotated[bool, typer.Option(
        "--reverse", help="Restore: decrypt every value the encrypt operator wrote "
        "(dz1:...) back into SOURCE's original text. Other operators are one-way.")] = False,
    fmt: Annotated[str | None, typer.Option(
        "--format", help="Input format when the name does not say: csv, tsv, parquet, "
        "jsonl.", show_default=False)] = None,
    report: Annotated[Path | None, typer.Option(
        "--report", help="Also write what changed (per column: operators, entity types, "
        "values changed) as JSON to this file.", show_default=False, dir_okay=False)] = None,
    verify: Annotated[bool, typer.Option(
        "--verify/--no-verify", help="Re-scan the output before it is moved into place; "
        "if any detected input value is still there, nothing is written (exit 1).")] = True,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Show progress on standard error (only on a "
        "terminal).")] = True,
) -> None:
    """Anonymise personal data in a table; the result keeps the input's format and joins.

    Every value is checked by dozor's personal-data detector (column names count as
    context); each detected span (an e-mail inside a comment too) is replaced by the
    policy's operator for its kind. Columns named in the policy are replaced whole.

    [b]Examples[/b]

      dozor anonymize users.csv users.anon.csv --key-file anon.key --create-key

      dozor anonymize orders.parquet orders.anon.parquet -k anon.key -p policy.yaml

      dozor anonymize users.anon.csv users.csv -k anon.key --reverse
    """
    _need_data_extra()
    require("cryptography", "data")
    from dozor.data.anonymize import (
        AnonKey,
        AnonKeyError,
        PolicyError,
        anonymize_file,
        create_key_file,
        load_key,
        load_policy,
        restore_file,
    )
    from dozor.data.anonymize.operators import KEYED

    if not source.exists():
        raise fail(f"{source}: no such file")
    if source.is_dir():
        raise fail(f"{source} is a folder; anonymise one file at a time")
    if target.exists() and target.resolve() == source.resolve():
        raise fail("SOURCE and TARGET are the same file; write to a new file")
    if not target.parent.is_dir():
        raise fail(f"folder {target.parent} does not exist")
    try:
        policy = load_policy(policy_file)
        key: AnonKey | None = None
        if create_key:
            if key_file is None:
                raise fail("--create-key needs --key-file FILE to write the key to")
            key = create_key_file(key_file)
            typer.echo(f"dozor: created key {key_file} (keep it secret and keep it safe)",
                       err=True)
        elif reverse or key_file is not None or policy.operators_used() & KEYED:
            # redact, mask and generalise need no key; hash, fake, encrypt and --reverse do
            key = load_key(key_file)
    except (AnonKeyError, PolicyError) as exc:
        raise fail(str(exc)) from None
    total = _rows_hint(source)
    try:
        with _progress("restoring" if reverse else "anonymising", total, progress) as tick:
            if reverse:
                if key is None:  # not reached: --reverse always loads a key
                    raise fail("--reverse needs the key")
                restored = restore_file(source, target, key=key, fmt=fmt, progress=tick)
                typer.echo(f"restored {restored.restored:,} encrypted values in "
                           f"{restored.rows:,} rows -> {target}")
                raise typer.Exit(EXIT_CLEAN)
            result = anonymize_file(source, target, policy=policy, key=key, fmt=fmt,
                                    verify=verify, progress=tick)
    except KeyboardInterrupt:
        raise fail(f"interrupted; nothing was written to {target}") from None
    except ValueError as exc:  # readers.DataError, a wrong key on --reverse
        raise fail(str(exc).splitlines()[0] if str(exc) else type(exc).__name__) from None
    except OSError as exc:
        raise fail(f"cannot write {target}: {exc.strerror or exc}") from None
    _print_anonymize(result)
    if report is not None:
        report.write_text(json.dumps(result.to_dict(), indent=2) + "\n", encoding="utf-8")
    if result.verified is False:
        typer.echo(f"dozor: {result.leaks} detected input values were still found in the "
                   f"output; {target} was not written", err=True)
        raise typer.Exit(EXIT_FINDINGS)
    raise typer.Exit(EXIT_CLEAN)


def _print_anonymize(result: Any) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    table = Table(title=f"{result.source} -> {result.target} ({result.rows:,} rows)")
    for name in ("column", "changed", "operators", "entity types"):
        table.add_column(name)
    for col in result.columns:
        if not col.changed and not col.operators:
            continue
        table.add_row(col.column, f"{col.changed:,} of {col.values:,}"
                      + (f" ({col.nulled:,} emptied)" if col.nulled else ""),
                      ", ".join(f"{k} {v:,}" for k, v in col.operators),
                      ", ".join(f"{k} {v:,}" for k, v in col.entities))
    console.print(table)
    if result.verified:
        extra = (f"; {result.lookalikes:,} look-alike values (fakes) by design"
                 if result.lookalikes else "")
        console.print(f"verified: the output was re-scanned and holds no detected input "
                      f"value{extra}")
    elif result.verified is None:
        console.print("not verified (--no-verify)")


def fingerprint(
    data: Annotated[Path, typer.Argument(help="A data file or a folder of them.",
                                         show_default=False)],
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the manifest (JSON) here \\[default: standard output].",
        show_default=False, dir_okay=False)] = None,
    label: Annotated[str | None, typer.Option(
        "--label", "-l", help="Label column: its value counts go into the manifest, so "
        "`dozor diff` can report a class-balance shift.", show_default=False)] = None,
    block_rows: Annotated[int, typer.Option(
        "--block-rows", min=1, help="Rows per hashed block: smaller blocks locate a change "
        "more precisely and make a larger manifest.")] = 65_536,
    pii: Annotated[bool, typer.Option(
        "--pii/--no-pii", help="Include the personal-data profile of each table (per "
        "column: entity types and their share). Reads every value.")] = True,
    progress: Annotated[bool, typer.Option(
        "--progress/--no-progress", help="Show progress on standard error (only on a "
        "terminal).")] = True,
) -> None:
    """Write a manifest of a dataset: file and row-block hashes, schema, rows, PII profile.

    Commit the manifest beside the model: it proves which data the model was trained
    on, and `dozor diff` explains how a later version differs.

    [b]Examples[/b]

      dozor fingerprint data/ -o data.manifest.json --label target

      dozor diff data.manifest.json data/
    """
    _need_data_extra()
    from dozor.data.fingerprint import ManifestError
    from dozor.data.fingerprint import fingerprint as make

    if output is not None and not output.parent.is_dir():
        raise fail(f"--output: folder {output.parent} does not exist")
    try:
        with _progress("fingerprinting", None, progress) as tick:
            manifest = make(data, block_rows=block_rows, label=label, pii=pii, progress=tick)
    except ManifestError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no manifest was written") from None
    text = json.dumps(manifest, indent=1, ensure_ascii=False) + "\n"
    if output is None:
        typer.echo(text, nl=False)
    else:
        from dozor.data.writers import atomic_write_text

        atomic_write_text(output, text)
        files = manifest["files"]
        typer.echo(f"{len(files)} files, {sum(f.get('rows', 0) for f in files):,} table rows "
                   f"-> {output}", err=True)
    raise typer.Exit(EXIT_CLEAN)


def diff(
    old: Annotated[Path, typer.Argument(help="The earlier version: a data file, a folder, or "
                                        "a manifest written by `dozor fingerprint`.",
                                        show_default=False)],
    new: Annotated[Path, typer.Argument(help="The later version, in any of the same forms.",
                                        show_default=False)],
    label: Annotated[str | None, typer.Option(
        "--label", "-l", help="Label column, to compare class balance (when a side is data, "
        "not a manifest).", show_default=False)] = None,
    block_rows: Annotated[int, typer.Option(
        "--block-rows", min=1, help="Rows per block when a side is data; use the "
        "manifest's value to compare blocks with it.")] = 65_536,
    pii: Annotated[bool, typer.Option(
        "--pii/--no-pii", help="Compare personal-data profiles (profiles data sides).")
    ] = True,
    fmt: Annotated[OutFormat, typer.Option("--format", "-f", help="Output format.")
                   ] = OutFormat.console,
) -> None:
    """Explain what changed between two versions of a dataset.

    Files added, removed or changed; for tables: schema changes, row counts, which row
    blocks changed, the label distribution and the personal-data profile.

    Exit code 0: identical; 1: something changed; 2: an input could not be read.
    """
    _need_data_extra()
    from dozor.data.fingerprint import ManifestError, diff_manifests, manifest_of

    try:
        left = manifest_of(old, block_rows=block_rows, label=label, pii=pii)
        # a manifest's block size and label column apply to the other side too
        tables = [f for f in left.get("files", []) if isinstance(f, dict) and "blocks" in f]
        if tables:
            block_rows = int(tables[0].get("block_rows") or block_rows)
            label = label or tables[0].get("label")
        right = manifest_of(new, block_rows=block_rows, label=label, pii=pii)
    except ManifestError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted") from None
    result = diff_manifests(left, right)
    if fmt is OutFormat.json:
        typer.echo(json.dumps(result.to_dict(), indent=2))
    else:
        shown = [f for f in result.files if f.status != "same"]
        if not shown:
            typer.echo(f"no change: {len(result.files)} files identical")
        for f in shown:
            typer.echo(f"{f.status:8} {f.path}")
            for note in f.notes:
                typer.echo(f"         - {note}")
        same = len(result.files) - len(shown)
        if shown and same:
            typer.echo(f"{same} other files identical")
    raise typer.Exit(EXIT_FINDINGS if result.changed else EXIT_CLEAN)


@data_app.command("check")
def check(
    data: Annotated[Path, typer.Argument(help="Labelled data: CSV, TSV, Parquet, JSON Lines, "
                                         "or .npz with arrays x (or images) and y (or "
                                         "labels).", show_default=False)],
    label: Annotated[str | None, typer.Option(
        "--label", "-l", help="The label column (not needed for .npz).",
        show_default=False)] = None,
    text: Annotated[str | None, typer.Option(
        "--text", help="The free-text column \\[default: the text column with the most words "
        "per value, if any].", show_default=False)] = None,
    against: Annotated[Path | None, typer.Option(
        "--against", help="An earlier version of the same data: report a class-balance "
        "shift.", show_default=False)] = None,
    fmt: Annotated[ReportFormat, typer.Option("--format", "-f", help="Report format.")
                   ] = ReportFormat.console,
    output: Annotated[Path | None, typer.Option(
        "--output", "-o", help="Write the report to this file instead of standard output.",
        show_default=False, dir_okay=False)] = None,
    fail_on: Annotated[str, typer.Option(
        "--fail-on", help="Exit 1 when a finding is at or above this severity: info, low, "
        "medium, high, critical.")] = "medium",
    max_rows: Annotated[int, typer.Option(
        "--max-rows", min=10, help="Rows read (label checks need all of them in memory).")
    ] = 1_000_000,
    folds: Annotated[int, typer.Option(
        "--folds", min=2, max=20, help="Cross-validation folds for the out-of-fold "
        "probabilities behind the label-error check.")] = 5,
    model: Annotated[LabelModel, typer.Option(
        "--model", help="Model behind the out-of-fold probabilities: linear (logistic "
        "regression, fast) or boosting (gradient boosting: finds more label errors when "
        "classes are not linearly separable, 20-100x slower).")] = LabelModel.linear,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Full evidence.")] = False,
) -> None:
    """Find poisoning and label problems: conflicting duplicates, likely label errors
    (confident learning), outliers, class-balance shifts, backdoor-trigger hints.

    [b]Examples[/b]

      dozor data check train.csv --label target

      dozor data check reviews.parquet --label sentiment --text review --against v1.parquet

      dozor data check images.npz --format sarif -o labels.sarif
    """
    _need_data_extra()
    require("sklearn", "data")
    from dozor.data.labels import DataError, check_file
    from dozor.findings import Severity
    from dozor.report import render_to

    try:
        threshold = Severity.parse(fail_on)
    except ValueError as exc:
        raise fail(f"--fail-on: {exc}") from None
    if not data.exists():
        raise fail(f"{data}: no such file")
    if against is not None and not against.exists():
        raise fail(f"--against: {against}: no such file")
    if output is not None and not output.parent.is_dir():
        raise fail(f"--output: folder {output.parent} does not exist")
    try:
        with _stages(sys.stderr.isatty()) as stage:
            report = check_file(data, label, text=text, against=against, max_rows=max_rows,
                                folds=folds, model=model.value, stage=stage)
    except DataError as exc:
        raise fail(str(exc)) from None
    except KeyboardInterrupt:
        raise fail("interrupted; no report was written") from None
    try:
        render_to(report, fmt.value, output if output is not None else sys.stdout,
                  verbose=verbose)
    except ValueError as exc:
        raise fail(str(exc)) from None
    raise typer.Exit(EXIT_FINDINGS if report.at_least(threshold) else EXIT_CLEAN)


def register(app: typer.Typer) -> None:
    """Add the data verbs to the `dozor` command."""
    app.command("anonymize")(anonymize)
    app.command("fingerprint")(fingerprint)
    app.command("diff")(diff)
    app.add_typer(data_app, name="data")

