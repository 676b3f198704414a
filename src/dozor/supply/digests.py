"""Digests of models and datasets, shared by the bill of materials and the attestation.

A folder's digest is the SHA-256 of its sorted ``relative/path NUL sha256 LF`` lines:
independent of the walk order and the folder's own name, and recomputable with
``find . -type f | sort | xargs sha256sum`` plus one more hash. A dataset's fingerprint
comes from `dozor.data.fingerprint` when that part of dozor is installed (content
hashes per file and per row block), else from the same folder digest.
"""

from __future__ import annotations

import hashlib
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
    """A dataset's fingerprint: dozor.data's when available, else `fingerprint_tree`."""
    tree = fingerprint_tree(root)
    try:
        from dozor.data.fingerprint import fingerprint  # type: ignore[import-not-found]
    except ImportError:
        return tree
    try:
        result = fingerprint(root)
    except Exception:  # a partial part of dozor must not break the BOM: fall back
        return tree
    digest = _digest_of(result)
    return Fingerprint(tree.name, digest, tree.files, "dozor.data.fingerprint") if digest \
        else tree


def _digest_of(result: object) -> str | None:
    for attr in ("digest", "sha256", "root", "root_digest", "fingerprint"):
        value = result.get(attr) if isinstance(result, dict) else getattr(result, attr, None)
        if isinstance(value, str) and len(value) >= 32:
            return value.removeprefix("sha256:")
    return None
