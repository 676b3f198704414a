"""Table readers for CSV, TSV, Parquet, JSON Lines and folders of text, streamed in batches.

Why pyarrow: its CSV reader (`pyarrow.csv.open_csv`) and Parquet reader
(`ParquetFile.iter_batches`) stream a file block by block in C++, so a file larger than
memory is read with one block in memory at a time, and both hand out Arrow record
batches that the detectors, the anonymiser and the fingerprints share without copies.
JSON Lines and text folders are read here, line by line with a bounded line length,
because pyarrow's JSON reader infers types from the first block and fails on a later
row that disagrees (and keeps no nested value as text).

Every column of a CSV, TSV or JSON Lines file is read as text: a phone number or an
INN parsed as an integer loses its leading zeros and plus sign, and a streamed reader
that infers "int64" from the first block fails on a later "n/a". Parquet keeps its own
types. Malformed input gives `DataError`, one line that says what was wrong; rows that
do not parse (a CSV row with the wrong number of fields, a JSON line that is not JSON)
are skipped and counted in `skipped_rows`, up to `MAX_SKIPPED`.
"""

from __future__ import annotations

import io
import json
import mmap
import os
from collections.abc import Iterator
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

FORMATS = ("csv", "tsv", "parquet", "jsonl", "text")
"""Format names; the same names `dozor.data.writers` writes."""

_EXTENSIONS = {
    ".csv": "csv", ".tsv": "tsv", ".tab": "tsv", ".parquet": "parquet", ".pq": "parquet",
    ".jsonl": "jsonl", ".ndjson": "jsonl", ".jsonlines": "jsonl", ".txt": "text",
    ".text": "text", ".md": "text", ".log": "text", ".rst": "text",
}
TEXT_SUFFIXES = frozenset({".txt", ".text", ".md", ".log", ".rst", ""})
"""Files read from a text folder (no suffix counts when the content is UTF-8 text)."""

BLOCK_BYTES = 4 << 20
"""CSV block size: the most of a CSV held in memory at once (one row may not be longer)."""
MAX_LINE_BYTES = 8 << 20
"""A JSON or text line longer than this is cut (text) or skipped (JSON)."""
MAX_COLUMNS = 10_000
"""Columns taken from JSON objects; further keys are ignored and counted."""
MAX_FILES = 100_000
"""Files read from one text folder."""
MAX_SKIPPED = 1_000_000
"""Malformed rows skipped before the file is refused as not being a table."""
MAX_JSON_DEPTH = 64
"""Nesting accepted in one JSON line (deeper lines are skipped)."""
SCHEMA_SAMPLE = 1000
"""JSON lines whose keys make up the schema of a JSON Lines file."""


class DataError(ValueError):
    """The file is not a readable table; the message is one line for the user."""


def detect_format(path: str | os.PathLike[str]) -> str:
    """The format of `path` from its suffix, else from its first bytes."""
    p = Path(path)
    if p.is_dir():
        return "text"
    suffix = p.suffix.lower()
    if suffix in (".gz", ".bz2", ".zst"):
        raise DataError(f"{p.name}: compressed tables are not read directly; decompress it "
                        "first")
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    try:
        with p.open("rb") as fh:
            head = fh.read(65536)
    except OSError as exc:
        raise DataError(f"{p}: cannot read ({exc.strerror or exc})") from None
    if head.startswith(b"PAR1"):
        return "parquet"
    first = head.lstrip()[:1]
    if first in (b"{", b"["):
        return "jsonl"
    line = head.split(b"\n", 1)[0]
    if b"\t" in line:
        return "tsv"
    return "csv"


class TableReader:
    """A table read in record batches; use as a context manager."""

    format: str = ""
    path: Path
    skipped_rows: int = 0
    """Rows that did not parse and were left out."""
    _size: int | None = None

    @property
    def schema(self) -> list[tuple[str, Any]]:
        """Column names and their Arrow types."""
        return [(f.name, f.type) for f in self.arrow_schema]

    @property
    def arrow_schema(self) -> pa.Schema:
        raise NotImplementedError

    @property
    def num_rows(self) -> int | None:
        """Rows in the file when the format records it (Parquet), else None."""
        return None

    @property
    def size_bytes(self) -> int:
        """Bytes on disk (for progress when the row count is not known)."""
        if self._size is not None:
            return self._size
        if self.path.is_dir():
            return sum(f.stat().st_size for f in _text_files(self.path))
        return self.path.stat().st_size

    @property
    def bytes_read(self) -> int:
        """Bytes consumed so far (approximate; for progress)."""
        return 0

    def iter_batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        raise NotImplementedError

    def close(self) -> None:
        """Release the file."""

    def __enter__(self) -> TableReader:
        return self

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.close()


def open_table(path: str | os.PathLike[str], *, fmt: str | None = None) -> TableReader:
    """A streaming reader for the table at `path` (format from `fmt` or detected)."""
    p = Path(path)
    if not p.exists():
        raise DataError(f"{p}: no such file or folder")
    kind = (fmt or detect_format(p)).lower().lstrip(".")
    kind = {"json": "jsonl", "ndjson": "jsonl", "txt": "text", "pq": "parquet"}.get(kind, kind)
    if kind not in FORMATS:
        raise DataError(f"{p.name}: unknown table format {fmt!r}; use one of "
                        f"{', '.join(FORMATS)}")
    if kind in ("csv", "tsv"):
        return CsvReader(p, delimiter="\t" if kind == "tsv" else ",", fmt=kind)
    if kind == "parquet":
        return ParquetReader(p)
    if kind == "jsonl":
        return JsonLinesReader(p)
    return TextReader(p)


def open_table_buffer(data: Any, name: str, *, fmt: str | None = None) -> TableReader:
    """A streaming reader over bytes already in memory or mapped (an mmap, a member of an
    archive); `name` gives the format by its suffix and names the table in messages."""
    import pyarrow as pa

    p = Path(name or "table")
    kind = (fmt or _EXTENSIONS.get(p.suffix.lower(), "")).lower()
    head = bytes(data[:4])
    if not kind:
        kind = "parquet" if head == b"PAR1" else "csv"
    if len(data) == 0:
        raise DataError(f"{p.name}: empty file")
    if kind in ("csv", "tsv", "parquet"):
        native = pa.BufferReader(pa.py_buffer(data))
        if kind == "parquet":
            reader: TableReader = ParquetReader(p, source=native)
        else:
            reader = CsvReader(p, delimiter="\t" if kind == "tsv" else ",", fmt=kind,
                               source=native)
    elif kind == "jsonl":
        lines = _MappedLines(data) if isinstance(data, mmap.mmap) else io.BytesIO(bytes(data))
        reader = JsonLinesReader(p, source=lines)
    else:
        raise DataError(f"{p.name}: {kind} tables are read from files or folders only")
    reader._size = len(data)
    return reader


class _MappedLines:
    """`readline(limit)`, `seek` and `tell` over an mmap without copying it (an mmap's own
    readline takes no limit)."""

    def __init__(self, data: mmap.mmap) -> None:
        self._data = data
        self._pos = 0

    def readline(self, limit: int = -1) -> bytes:
        end = self._data.find(b"\n", self._pos)
        end = len(self._data) if end < 0 else end + 1
        if limit >= 0:
            end = min(end, self._pos + limit)
        line = self._data[self._pos : end]
        self._pos = end
        return line

    def seek(self, pos: int) -> None:
        self._pos = pos

    def tell(self) -> int:
        return self._pos

    def close(self) -> None:
        """The mapping belongs to the caller."""


def _arrow_error(path: Path, exc: BaseException) -> DataError:
    msg = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return DataError(f"{path.name}: not a readable table ({msg[:200]})")


class CsvReader(TableReader):
    """CSV or TSV through `pyarrow.csv.open_csv`, every column as text."""

    def __init__(self, path: Path, *, delimiter: str = ",", fmt: str = "csv",
                 source: Any = None) -> None:
        import pyarrow as pa
        import pyarrow.csv as pcsv

        self.path, self.format, self._delimiter = path, fmt, delimiter
        self.skipped_rows = 0
        self._pcsv, self._pa = pcsv, pa
        if source is None and path.stat().st_size == 0:
            raise DataError(f"{path.name}: empty file")
        self._fh = source if source is not None else open(path, "rb")  # noqa: SIM115
        try:
            probe = pcsv.open_csv(self._fh, read_options=self._read_options(),
                                  parse_options=self._parse_options(),
                                  convert_options=pcsv.ConvertOptions(
                                      column_types={}, strings_can_be_null=False))
            names = probe.schema.names
        except (pa.ArrowException, OSError, ValueError) as exc:
            self._fh.close()
            raise _arrow_error(path, exc) from None
        self._names = names
        self._schema = pa.schema([(n, pa.string()) for n in names])

    def _read_options(self) -> Any:
        return self._pcsv.ReadOptions(block_size=BLOCK_BYTES, use_threads=False)

    def _parse_options(self) -> Any:
        def skip(_row: Any) -> str:
            self.skipped_rows += 1
            return "skip" if self.skipped_rows <= MAX_SKIPPED else "error"

        return self._pcsv.ParseOptions(delimiter=self._delimiter, newlines_in_values=True,
                                       invalid_row_handler=skip)

    @property
    def arrow_schema(self) -> pa.Schema:
        return self._schema

    @property
    def bytes_read(self) -> int:
        try:
            return self._fh.tell()
        except (OSError, ValueError):
            return 0

    def iter_batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        pa, pcsv = self._pa, self._pcsv
        self._fh.seek(0)
        self.skipped_rows = 0
        conv = pcsv.ConvertOptions(column_types={n: pa.string() for n in self._names},
                                   strings_can_be_null=True, quoted_strings_can_be_null=False)
        try:
            stream = pcsv.open_csv(self._fh, read_options=self._read_options(),
                                   parse_options=self._parse_options(), convert_options=conv)
            for batch in stream:
                for off in range(0, batch.num_rows, rows):
                    yield batch.slice(off, rows)
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _arrow_error(self.path, exc) from None

    def close(self) -> None:
        self._fh.close()


class ParquetReader(TableReader):
    """Parquet through `pyarrow.parquet.ParquetFile.iter_batches` (one row group at a time)."""

    format = "parquet"

    def __init__(self, path: Path, *, source: Any = None) -> None:
        import pyarrow as pa
        import pyarrow.parquet as pq

        self.path = path
        self.skipped_rows = 0
        self._pa = pa
        self._done_rows = 0
        try:
            self._file = pq.ParquetFile(source if source is not None else path)
            self._schema = self._file.schema_arrow
        except (pa.ArrowException, OSError, ValueError) as exc:
            raise _arrow_error(path, exc) from None

    @property
    def arrow_schema(self) -> pa.Schema:
        return self._schema

    @property
    def num_rows(self) -> int | None:
        return int(self._file.metadata.num_rows)

    @property
    def bytes_read(self) -> int:
        total = self.num_rows or 0
        return int(self.size_bytes * self._done_rows / total) if total else 0

    def iter_batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        self._done_rows = 0
        try:
            for batch in self._file.iter_batches(batch_size=rows, use_threads=False):
                self._done_rows += batch.num_rows
                yield batch
        except (self._pa.ArrowException, OSError, ValueError) as exc:
            raise _arrow_error(self.path, exc) from None

    def close(self) -> None:
        self._file.close()


def _depth_ok(value: Any, limit: int = MAX_JSON_DEPTH) -> bool:
    stack = [(value, 0)]
    while stack:
        v, d = stack.pop()
        if d > limit:
            return False
        if isinstance(v, dict):
            stack.extend((x, d + 1) for x in v.values())
        elif isinstance(v, list):
            stack.extend((x, d + 1) for x in v)
    return True


def _as_text(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _lines(fh: Any, max_len: int) -> Iterator[tuple[bytes, bool]]:
    """Lines of a binary file and whether each was cut at `max_len` bytes."""
    while True:
        line = fh.readline(max_len + 1)
        if not line:
            return
        if len(line) > max_len and not line.endswith(b"\n"):
            while True:  # skip the rest of an oversized line without holding it
                rest = fh.readline(1 << 20)
                if not rest or rest.endswith(b"\n"):
                    break
            yield line[:max_len], True
        else:
            yield line.rstrip(b"\r\n"), False


class JsonLinesReader(TableReader):
    """JSON Lines: one object per line; keys of the first lines become text columns."""

    format = "jsonl"

    def __init__(self, path: Path, *, source: Any = None) -> None:
        import pyarrow as pa

        self.path = path
        self._pa = pa
        self.skipped_rows = 0
        self.ignored_keys = 0
        self._fh = source if source is not None else open(path, "rb")  # noqa: SIM115
        self._own = source is None
        names: dict[str, None] = {}
        seen = 0
        for raw, cut in _lines(self._fh, MAX_LINE_BYTES):
            if seen >= SCHEMA_SAMPLE:
                break
            obj = self._parse(raw, cut)
            if obj is None:
                continue
            seen += 1
            for key in obj:
                if len(names) < MAX_COLUMNS:
                    names.setdefault(key, None)
        if not names:
            self.close()
            raise DataError(f"{path.name}: no JSON object lines found; not a JSON Lines file")
        self._names = list(names)
        self._schema = pa.schema([(n, pa.string()) for n in self._names])

    @staticmethod
    def _parse(raw: bytes, cut: bool) -> dict[str, Any] | None:
        if cut or not raw.strip():
            return None
        try:
            obj = json.loads(raw)
        except (ValueError, RecursionError):
            return None
        if not isinstance(obj, dict):
            return {"value": obj}
        return obj if _depth_ok(obj) else None

    @property
    def arrow_schema(self) -> pa.Schema:
        return self._schema

    @property
    def bytes_read(self) -> int:
        try:
            return self._fh.tell()
        except (OSError, ValueError):
            return 0

    def iter_batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        self._fh.seek(0)
        self.skipped_rows = 0
        names = self._names
        index = {n: i for i, n in enumerate(names)}
        cols: list[list[str | None]] = [[] for _ in names]
        count = 0
        for raw, cut in _lines(self._fh, MAX_LINE_BYTES):
            if not raw.strip() and not cut:
                continue
            obj = self._parse(raw, cut)
            if obj is None:
                self.skipped_rows += 1
                if self.skipped_rows > MAX_SKIPPED:
                    raise DataError(f"{self.path.name}: more than {MAX_SKIPPED} lines are "
                                    "not JSON objects; not a JSON Lines file")
                continue
            row: list[str | None] = [None] * len(names)
            for key, value in obj.items():
                i = index.get(key)
                if i is None:
                    self.ignored_keys += 1
                    continue
                row[i] = _as_text(value)
            for i, v in enumerate(row):
                cols[i].append(v)
            count += 1
            if count >= rows:
                yield self._batch(cols)
                cols = [[] for _ in names]
                count = 0
        if count:
            yield self._batch(cols)

    def _batch(self, cols: list[list[str | None]]) -> pa.RecordBatch:
        pa = self._pa
        return pa.RecordBatch.from_arrays([pa.array(c, type=pa.string()) for c in cols],
                                          schema=self._schema)

    def close(self) -> None:
        if self._own:  # a caller's mmap or buffer stays open for the caller
            self._fh.close()


def _text_files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    out: list[Path] = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            p = Path(dirpath) / name
            if name.startswith(".") or p.suffix.lower() not in TEXT_SUFFIXES or p.is_symlink():
                continue
            out.append(p)
            if len(out) >= MAX_FILES:
                return out
    return out


class TextReader(TableReader):
    """A text file or a folder of them: one row per line (file, line number, text)."""

    format = "text"

    def __init__(self, path: Path) -> None:
        import pyarrow as pa

        self.path = path
        self._pa = pa
        self.skipped_rows = 0
        self.skipped_files = 0
        self._files = _text_files(path)
        self._read = 0
        self._schema = pa.schema([("file", pa.string()), ("line", pa.int64()),
                                  ("text", pa.string())])

    @property
    def arrow_schema(self) -> pa.Schema:
        return self._schema

    @property
    def bytes_read(self) -> int:
        return self._read

    def iter_batches(self, rows: int = 65_536) -> Iterator[pa.RecordBatch]:
        pa = self._pa
        files: list[str] = []
        lines: list[int] = []
        texts: list[str] = []
        self._read = 0
        for f in self._files:
            rel = f.name if f == self.path else str(f.relative_to(self.path))
            try:
                fh = f.open("rb")
            except OSError:
                self.skipped_files += 1
                continue
            with fh:
                head = fh.read(8192)
                if b"\x00" in head:
                    self.skipped_files += 1  # binary, not text
                    self._read += f.stat().st_size
                    continue
                fh.seek(0)
                for n, (raw, _cut) in enumerate(_lines(fh, MAX_LINE_BYTES), 1):
                    self._read += len(raw) + 1
                    files.append(rel)
                    lines.append(n)
                    texts.append(raw.decode("utf-8", "replace"))
                    if len(texts) >= rows:
                        yield pa.RecordBatch.from_arrays(
                            [pa.array(files, pa.string()), pa.array(lines, pa.int64()),
                             pa.array(texts, pa.string())], schema=self._schema)
                        files, lines, texts = [], [], []
        if texts:
            yield pa.RecordBatch.from_arrays(
                [pa.array(files, pa.string()), pa.array(lines, pa.int64()),
                 pa.array(texts, pa.string())], schema=self._schema)
