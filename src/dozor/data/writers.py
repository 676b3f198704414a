"""Table writers: CSV, TSV, Parquet and JSON Lines, streamed and written atomically.

A writer takes pyarrow record batches one by one and writes them to a temporary file
beside the target; only `commit` renames it into place (``os.replace``, atomic on one
file system). Leaving the `with` block through an exception, Ctrl-C included, deletes
the temporary file, so the target is either the old file or the complete new one,
never half a table.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO, Any

FORMATS = ("csv", "tsv", "parquet", "jsonl", "text")
_ALIASES = {"json": "jsonl", "ndjson": "jsonl", "jsonlines": "jsonl", "txt": "text",
            "pq": "parquet", "parq": "parquet"}


def normalise_format(name: str) -> str:
    """A reader's or user's format name mapped to one of `FORMATS`."""
    key = name.lower().lstrip(".")
    key = _ALIASES.get(key, key)
    if key not in FORMATS:
        raise ValueError(f"cannot write format {name!r}; choose one of {', '.join(FORMATS)}")
    return key


class TableWriter:
    """Writes record batches to `path` in `fmt`; use as a context manager."""

    def __init__(self, path: str | os.PathLike[str], fmt: str, *,
                 metadata: dict[str, str] | None = None) -> None:
        self.path = Path(path)
        self.format = normalise_format(fmt)
        self.rows = 0
        self._metadata = metadata or {}
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", suffix=".part",
                                   dir=self.path.parent or ".")
        os.close(fd)
        self.temp_path = Path(tmp)
        self._handle: IO[Any] | None = None
        self._arrow: Any = None
        self._schema: Any = None
        self._done = False

    def write(self, batch: Any) -> None:
        """Append one pyarrow RecordBatch."""
        if self.format == "parquet":
            import pyarrow.parquet as pq

            if self._arrow is None:
                schema = batch.schema.with_metadata(
                    {**(batch.schema.metadata or {}),
                     **{k.encode(): v.encode() for k, v in self._metadata.items()}})
                self._arrow = pq.ParquetWriter(self.temp_path, schema)
            batch = batch.cast(self._arrow.schema) if batch.schema != self._arrow.schema \
                else batch
            self._arrow.write_batch(batch)
        elif self.format in ("csv", "tsv"):
            import pyarrow.csv as pcsv

            if self._arrow is None:
                self._schema = batch.schema
                self._arrow = pcsv.CSVWriter(
                    str(self.temp_path), batch.schema,
                    write_options=pcsv.WriteOptions(
                        delimiter="\t" if self.format == "tsv" else ",",
                        quoting_style="needed"))
            self._arrow.write_batch(batch.cast(self._schema)
                                    if batch.schema != self._schema else batch)
        else:
            if self._handle is None:
                self._handle = open(self.temp_path, "w", encoding="utf-8", newline="\n")
            if self.format == "jsonl":
                for row in batch.to_pylist():
                    self._handle.write(json.dumps(row, ensure_ascii=False, default=str))
                    self._handle.write("\n")
            else:  # text: the reader's (file, line, text) rows; the text is the content
                names = batch.schema.names
                column = batch.column(names.index("text") if "text" in names
                                      else len(names) - 1).to_pylist()
                for value in column:
                    self._handle.write(("" if value is None else str(value)) + "\n")
        self.rows += batch.num_rows

    def _close(self) -> None:
        if self._arrow is not None:
            self._arrow.close()
            self._arrow = None
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    def finish(self) -> Path:
        """Close the temporary file (still not in place); returns its path for checks."""
        self._close()
        if not self.temp_path.exists() or (self.rows == 0 and
                                           self.temp_path.stat().st_size == 0):
            self.temp_path.touch()
        return self.temp_path

    def commit(self) -> None:
        """Move the finished file into place atomically."""
        self.finish()
        os.replace(self.temp_path, self.path)
        self._done = True

    def abort(self) -> None:
        """Drop the temporary file; the target is untouched."""
        try:
            self._close()
        finally:
            self._done = True
            self.temp_path.unlink(missing_ok=True)

    def __enter__(self) -> TableWriter:
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        if exc_type is not None or not self._done:
            # an exception (Ctrl-C included) or no commit: nothing half-written stays
            self.abort()


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    """Write `text` to `path` whole or not at all (temporary file, then rename)."""
    target = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part",
                               dir=target.parent or ".")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
