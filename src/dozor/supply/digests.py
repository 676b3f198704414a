"""Digests of models and datasets, shared by the bill of materials and the attestation.

A folder's digest is the SHA-256 of its sorted ``relative/path NUL sha256 LF`` lines:
independent of the walk order and the folder's own name, and recomputable with
``find . -type f | sort | xargs sha256sum`` plus one more hash. A dataset's fingerprint
comes from `dozor.data.fingerprint` when that part of dozor is installed (content
hashes per file and per row block), else from the same folder digest.
"""

from __future__ import annotations

import hashlib
import json
import os
import pathlib
from collections.abc import Iterable
from dataclasses import dataclass

CHUNK = 8 << 20
SKIP_DIRS = frozenset({".git", "__pycache__"})
SKIP_FILES = frozenset({"model.sig"})


@dataclass(frozen=True)
class FileDigest:
    """One file of a model or dataset."""

    name: str
    """Path relative to the model or dataset root, with ``/`` separators."""
    size: int
    sha256: str


@dataclass(frozen=True)
class Fingerprint:
    """The identity of a model or dataset: one digest plus its files."""

    name: str
    digest: str
    """SHA-256 of a file, or of a folder's sorted file list (module docstring)."""
    files: tuple[FileDigest, ...]
    source: str = "sha256"
    """``sha256`` (this module) or ``dozor.data.fingerprint``."""
    rows: int | None = None
    """Rows in the dataset's tables, when `dozor.data` read them."""
    sensitive: tuple[str, ...] = ()
    """Personal-data entities `dozor.data` found (EMAIL, PHONE, ...), names only."""
    manifest_sha256: str = ""
    """SHA-256 of the canonical `dozor.data` manifest entries (schema, row blocks)."""

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)


def file_sha256(path: pathlib.Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()


def walk_files(root: pathlib.Path, *,
               skip_signature: bool = True) -> Iterable[tuple[str, pathlib.Path]]:
    """(relative name, path) of regular files under `root`, sorted; links are not followed.

    Git metadata is left out, and the folder's ``model.sig`` unless `skip_signature` is
    False (a sealed bundle carries the signature along with the model).
    """
    if root.is_file():
        yield root.name, root
        return
    found: list[tuple[str, pathlib.Path]] = []
    for dirpath, dirs, files in os.walk(root, followlinks=False):
        dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
        for name in files:
            path = pathlib.Path(dirpath, name)
            rel = path.relative_to(root).as_posix()
            if (skip_signature and rel in SKIP_FILES) or path.is_symlink() or not path.is_file():
                continue
            found.append((rel, path))
    yield from sorted(found)


def fingerprint_tree(root: pathlib.Path, *, skip_signature: bool = True) -> Fingerprint:
    """SHA-256 of every file under `root` and one digest for the whole (see module doc)."""
    files = tuple(FileDigest(rel, p.stat().st_size, file_sha256(p))
                  for rel, p in walk_files(root, skip_signature=skip_signature))
    if root.is_file():
        return Fingerprint(root.name, files[0].sha256, files)
    h = hashlib.sha256()
    for f in files:
        h.update(f"{f.name}\0{f.sha256}\n".encode())
    return Fingerprint(root.name, h.hexdigest(), files)


def fingerprint_dataset(root: pathlib.Path) -> Fingerprint:
    """A dataset's fingerprint, from `dozor.data.fingerprint` when that part is installed.

    `root` may also be a dozor data manifest (``dozor fingerprint`` output): its recorded
    file hashes are used, so a BOM or attestation can name data that is not at hand.
    The digest is always the folder digest of the module docstring over the per-file
    SHA-256s; `dozor.data` adds rows, schema, row-block hashes and a personal-data
    profile (`Fingerprint.rows`, `.sensitive`, `.manifest_sha256`).
    """
    try:
        from dozor.data.fingerprint import manifest_of
    except ImportError:
        return fingerprint_tree(root)
    try:
        manifest = manifest_of(root)
    except (OSError, ValueError):
        return fingerprint_tree(root)
    entries = [e for e in manifest.get("files", []) if isinstance(e, dict)]
    files = tuple(sorted((FileDigest(str(e.get("path")), int(e.get("size") or 0),
                                     str(e.get("sha256"))) for e in entries),
                         key=lambda f: f.name))
    if not files:
        return fingerprint_tree(root)
    if len(files) == 1 and root.is_file() and not _is_manifest_file(root):
        digest = files[0].sha256
    else:
        h = hashlib.sha256()
        for f in files:
            h.update(f"{f.name}\0{f.sha256}\n".encode())
        digest = h.hexdigest()
    rows = sum(int(e.get("rows") or 0) for e in entries)
    sensitive = sorted({entity for e in entries if isinstance(e.get("pii"), dict)
                        for col in e["pii"].values() if isinstance(col, dict)
                        for entity in col})
    canonical = json.dumps(entries, sort_keys=True, separators=(",", ":"), default=str)
    name = root.stem if _is_manifest_file(root) else root.name
    return Fingerprint(name, digest, files, "dozor.data.fingerprint", rows=rows or None,
                       sensitive=tuple(sensitive),
                       manifest_sha256=hashlib.sha256(canonical.encode()).hexdigest())


def _is_manifest_file(path: pathlib.Path) -> bool:
    try:
        from dozor.data.fingerprint import is_manifest
    except ImportError:
        return False
    return is_manifest(path)
