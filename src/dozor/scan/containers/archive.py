"""Checks shared by the tar and 7z readers: names that escape, links, bombs, duplicates."""

from __future__ import annotations

import posixpath
import re
import unicodedata

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import finding, printable

FIX = "Do not extract or load the archive; ask its author for a clean copy."


def unsafe_name(name: str) -> str | None:
    """Why extracting `name` could write outside the target folder, or None."""
    if "\x00" in name:
        return "NUL byte in name"
    norm = name.replace("\\", "/")
    if norm.startswith("/") or re.match(r"^[a-zA-Z]:", norm):
        return "absolute path"
    if ".." in norm.split("/"):
        return "path traversal (..)"
    return None


def name_key(name: str) -> str:
    """Names that some reader or file system would treat as the same file."""
    norm = unicodedata.normalize("NFC", name.replace("\\", "/"))
    return posixpath.normpath(norm).casefold()


def member_checks(loc: Location, name: str, scanner: str) -> list[Finding]:
    why = unsafe_name(name)
    if not why:
        return []
    return [finding("DZ-ARC-001", "Archive member escapes the extraction folder", Severity.HIGH,
                    loc, evidence=f"{printable(name)}: {why}", remediation=FIX, scanner=scanner)]


def duplicates(loc: Location, names: list[str], scanner: str) -> list[Finding]:
    groups: dict[str, list[str]] = {}
    for n in names:
        groups.setdefault(name_key(n), []).append(n)
    out = []
    for same in groups.values():
        if len(same) > 1:
            exact = len(set(same)) == 1
            out.append(finding(
                "DZ-ARC-004",
                "Duplicate member names (parser differential: readers pick different copies)"
                if exact else "Member names that collide after case or path normalisation",
                Severity.HIGH, loc.child(same[0]),
                evidence=", ".join(printable(n, 60) for n in same[:5]), remediation=FIX,
                scanner=scanner))
    return out
