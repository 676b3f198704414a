"""Dataset fingerprints: a manifest of exactly which data a model was trained on, and a
diff that explains what changed between two versions.

A manifest records, per file: its SHA-256 and size; for tables, the schema, the row
count, a SHA-256 per block of `block_rows` rows, optionally the label distribution and
the personal-data profile (`dozor.data.profile`). Block hashes are taken over the
rows' values, not the file's bytes, so re-quoting a CSV or re-compressing a Parquet
file changes the file hash but not the blocks, and an edited row names its block.

Why not DVC or lakeFS: they version data (store it, move it); this is the part a
security review needs without adopting either: a small JSON file to commit beside the
model, and an explanation of the difference between two versions.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_KIND = "dozor-data-manifest"
MANIFEST_VERSION = 1
BLOCK_ROWS = 65_536
MAX_FILES = 100_000
MAX_MANIFEST_BYTES = 256 << 20
TABLE_SUFFIXES = frozenset({".csv", ".tsv", ".tab", ".parquet", ".pq", ".jsonl", ".ndjson",
                            ".jsonlines"})
_SEP = "\x1f"
_NULL = "\x00"

Progress = Callable[[int], None]


class ManifestError(ValueError):
    """A manifest is unreadable or not a dozor manifest; one sentence."""


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _rows_text(batch: Any) -> list[str]:
    """Each row as one canonical string (values as text, nulls marked)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    columns = []
    for col in batch.columns:
        try:
            text = pc.cast(col, pa.string())
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            text = pa.array([None if v is None else json.dumps(v, default=str, sort_keys=True)
                             for v in col.to_pylist()], type=pa.string())
        columns.append(pc.fill_null(text, _NULL))
    if not columns:
        return [""] * batch.num_rows
    if len(columns) == 1:
        return list(columns[0].to_pylist())
    return list(pc.binary_join_element_wise(*columns, _SEP).to_pylist())


def _blocks(batches: Iterator[Any], block_rows: int) -> Iterator[tuple[int, str, Any]]:
    """(rows, sha256, batch parts) per fixed-size block, whatever the reader's chunking."""
    digest = hashlib.sha256()
    rows = 0
    for batch in batches:
        start = 0
        while start < batch.num_rows:
            take = min(block_rows - rows, batch.num_rows - start)
            part = batch.slice(start, take)
            for row in _rows_text(part):
                digest.update(row.encode("utf-8", "surrogatepass"))
                digest.update(b"\n")
            rows += take
            start += take
            yield 0, "", part  # a part for label counting; not a block yet
            if rows == block_rows:
                yield rows, digest.hexdigest(), None
                digest, rows = hashlib.sha256(), 0
    if rows:
        yield rows, digest.hexdigest(), None


def table_entry(path: Path, *, block_rows: int = BLOCK_ROWS, label: str | None = None,
                pii: bool = True, progress: Progress | None = None) -> dict[str, Any]:
    """The manifest entry of one table file (schema, rows, block hashes, labels, PII)."""
    from dozor.data.readers import open_table

    entry: dict[str, Any] = {}
    labels: Counter[str] = Counter()
    blocks: list[dict[str, Any]] = []
    with open_table(path) as reader:
        entry["format"] = reader.format
        entry["schema"] = [[name, str(kind)] for name, kind in reader.schema]
        names = [name for name, _ in reader.schema]
        total = 0
        for rows, sha, part in _blocks(reader.iter_batches(rows=min(block_rows, 65_536)),
                                       block_rows):
            if part is not None:
                if label is not None and label in names:
                    labels.update("" if v is None else str(v)
                                  for v in part.column(names.index(label)).to_pylist())
                if progress is not None:
                    progress(part.num_rows)
                continue
            blocks.append({"rows": rows, "sha256": sha})
            total += rows
    entry["rows"] = total
    entry["block_rows"] = block_rows
    entry["blocks"] = blocks
    if label is not None:
        entry["label"] = label
        entry["labels"] = dict(sorted(labels.items()))
    if pii:
        entry["pii"] = _pii_profile(path)
    return entry


def _pii_profile(path: Path) -> dict[str, dict[str, float]] | None:
    """Per column: entity -> share of values (from `dozor.data.profile`), or None."""
    try:
        from dozor.data.profile import profile_table
    except ImportError:
        return None
    try:
        profile = profile_table(path)
    except (OSError, ValueError):
        return None
    out: dict[str, dict[str, float]] = {}
    for col in profile.columns:
        shares = {e.entity: round(float(e.share), 4) for e in col.entities}
        if shares:
            out[col.name] = shares
    return out


def _files(root: Path) -> list[Path]:
    if root.is_file():
        return [root]
    found = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        for name in sorted(filenames):
            if name.startswith("."):
                continue
            found.append(Path(dirpath) / name)
            if len(found) >= MAX_FILES:
                return found
    return found


def fingerprint(data: str | os.PathLike[str], *, block_rows: int = BLOCK_ROWS,
                label: str | None = None, pii: bool = True,
                progress: Progress | None = None) -> dict[str, Any]:
    """The manifest of a file or folder (see the module docstring)."""
    from dozor import __version__

    root = Path(data)
    if not root.exists():
        raise ManifestError(f"{root}: no such file or folder")
    files = []
    for path in _files(root):
        rel = path.name if root.is_file() else path.relative_to(root).as_posix()
        entry: dict[str, Any] = {"path": rel, "size": path.stat().st_size,
                                 "sha256": _file_sha256(path)}
        if path.suffix.lower() in TABLE_SUFFIXES:
            try:
                entry.update(table_entry(path, block_rows=block_rows, label=label, pii=pii,
                                         progress=progress))
            except ValueError as exc:  # readers.DataError: keep the file hash, say why
                entry["error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        files.append(entry)
    return {
        "kind": MANIFEST_KIND, "manifest_version": MANIFEST_VERSION,
        "tool": "dozor", "version": __version__,
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "root": str(root), "files": files,
    }


def load_manifest(path: str | os.PathLike[str]) -> dict[str, Any]:
    p = Path(path)
    try:
        if p.stat().st_size > MAX_MANIFEST_BYTES:
            raise ManifestError(f"{p} is too large for a manifest")
        data = json.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ManifestError(f"cannot read {p}: {exc.strerror}") from None
    except (ValueError, UnicodeDecodeError):
        raise ManifestError(f"{p} is not JSON") from None
    if not isinstance(data, dict) or data.get("kind") != MANIFEST_KIND or \
            not isinstance(data.get("files"), list):
        raise ManifestError(f"{p} is not a dozor data manifest")
    return data


def is_manifest(path: str | os.PathLike[str]) -> bool:
    p = Path(path)
    if not p.is_file() or p.suffix.lower() != ".json":
        return False
    try:
        load_manifest(p)
        return True
    except ManifestError:
        return False


def manifest_of(path: str | os.PathLike[str], **kwargs: Any) -> dict[str, Any]:
    """A manifest file as it is, or the fingerprint of data."""
    return load_manifest(path) if is_manifest(path) else fingerprint(path, **kwargs)


@dataclass(frozen=True)
class FileChange:
    path: str
    status: str
    """``added``, ``removed``, ``changed`` or ``same``."""
    notes: tuple[str, ...] = ()
    """Sentences that explain the change."""
    changed_blocks: tuple[int, ...] = ()


@dataclass(frozen=True)
class DataDiff:
    files: tuple[FileChange, ...] = field(default_factory=tuple)

    @property
    def changed(self) -> bool:
        return any(f.status != "same" for f in self.files)

    def to_dict(self) -> dict[str, Any]:
        return {"changed": self.changed, "files": [
            {"path": f.path, "status": f.status, "notes": list(f.notes),
             "changed_blocks": list(f.changed_blocks)} for f in self.files]}


def _entries(manifest: Any) -> dict[str, dict[str, Any]]:
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, list):
        return {}
    return {str(f["path"]): f for f in files if isinstance(f, dict) and "path" in f}


def diff_manifests(old: dict[str, Any], new: dict[str, Any]) -> DataDiff:
    """Explain what changed from `old` to `new` (two manifests).

    Manifests may come from anywhere: fields of the wrong type are ignored, never fatal.
    """
    before, after = _entries(old), _entries(new)
    if len(before) == 1 and len(after) == 1 and set(before) != set(after):
        # two single files with different names: compare them with each other
        only_old, (name, only_new) = next(iter(before.values())), next(iter(after.items()))
        before, after = {name: only_old}, {name: only_new}
    out = []
    for path in sorted(set(before) | set(after)):
        b, a = before.get(path), after.get(path)
        if b is None:
            out.append(FileChange(path, "added", (f"new file, {_size(a)}",)))
        elif a is None:
            out.append(FileChange(path, "removed", (f"file removed, was {_size(b)}",)))
        elif b.get("sha256") == a.get("sha256"):
            out.append(FileChange(path, "same"))
        else:
            notes, blocks = _explain(b, a)
            out.append(FileChange(path, "changed", tuple(notes), tuple(blocks)))
    return DataDiff(tuple(out))


def _size(entry: dict[str, Any] | None) -> str:
    if entry is None:
        return "?"
    rows = f", {_int(entry.get('rows')):,} rows" if "rows" in entry else ""
    return f"{_int(entry.get('size')):,} bytes{rows}"


def _explain(b: dict[str, Any], a: dict[str, Any]) -> tuple[list[str], list[int]]:
    notes = [f"content changed ({_int(b.get('size')):,} -> {_int(a.get('size')):,} bytes)"]
    sb, sa = _schema(b.get("schema")), _schema(a.get("schema"))
    added = [n for n in sa if n not in sb]
    removed = [n for n in sb if n not in sa]
    retyped = [f"{n} {sb[n]} -> {sa[n]}" for n in sa if n in sb and sb[n] != sa[n]]
    if added:
        notes.append("columns added: " + ", ".join(added))
    if removed:
        notes.append("columns removed: " + ", ".join(removed))
    if retyped:
        notes.append("column types changed: " + ", ".join(retyped))
    if list(sb) != list(sa) and not added and not removed:
        notes.append("columns reordered")
    rb, ra = _int(b.get("rows")), _int(a.get("rows"))
    if rb != ra:
        notes.append(f"rows {rb:,} -> {ra:,} ({ra - rb:+,})")
    blocks: list[int] = []
    bb, ba = _hashes(b.get("blocks")), _hashes(a.get("blocks"))
    if bb and ba and b.get("block_rows") == a.get("block_rows"):
        size = max(1, _int(b.get("block_rows")) or BLOCK_ROWS)
        blocks = [i for i in range(max(len(bb), len(ba)))
                  if i >= len(bb) or i >= len(ba) or bb[i] != ba[i]]
        if not blocks:
            notes.append("every row is the same (only the encoding or layout changed)")
        elif len(blocks) <= 20:
            spans = ", ".join(f"{i} (rows {i * size:,}-{(i + 1) * size - 1:,})" for i in blocks)
            notes.append(f"{len(blocks)} of {max(len(bb), len(ba))} row blocks changed: {spans}")
        else:
            notes.append(f"{len(blocks)} of {max(len(bb), len(ba))} row blocks changed, the "
                         f"first at rows {blocks[0] * size:,}-{(blocks[0] + 1) * size - 1:,}")
    lb, la = b.get("labels"), a.get("labels")
    if isinstance(lb, dict) and isinstance(la, dict) and lb != la:
        from dozor.data.labels.balance import shift_from_counts

        shift = shift_from_counts(Counter({str(k): _int(n) for k, n in lb.items()}),
                                  Counter({str(k): _int(n) for k, n in la.items()}))
        lab, delta = shift.largest
        notes.append(f"label distribution moved {shift.total_variation:.1%} (total variation; "
                     f"largest: {lab!r} {delta:+.1%}, chi-square p = {shift.p_value:.1e})")
    pb, pa = b.get("pii"), a.get("pii")
    if isinstance(pb, dict) and isinstance(pa, dict) and pb != pa:
        for col in sorted(set(pb) | set(pa), key=str):
            eb, ea = pb.get(col), pa.get(col)
            eb = eb if isinstance(eb, dict) else {}
            ea = ea if isinstance(ea, dict) else {}
            for entity in sorted(set(eb) | set(ea), key=str):
                x, y = _float(eb.get(entity)), _float(ea.get(entity))
                if x == 0 and y > 0:
                    notes.append(f"personal data appeared: {col} holds {entity} in {y:.1%}")
                elif y == 0 and x > 0:
                    notes.append(f"personal data gone: {col} no longer holds {entity}")
                elif abs(x - y) >= 0.01:
                    notes.append(f"{col}: {entity} share {x:.1%} -> {y:.1%}")
    return notes, blocks


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) \
        else 0.0


def _schema(value: Any) -> dict[str, str]:
    if not isinstance(value, list):
        return {}
    return {str(p[0]): str(p[1]) for p in value if isinstance(p, list | tuple) and len(p) == 2}


def _hashes(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [str(b.get("sha256")) if isinstance(b, dict) else "" for b in value]
