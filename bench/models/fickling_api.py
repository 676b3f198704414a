"""Run fickling's Python API on one path, routed the way fickling's own scanner routes files.

Used by run.py inside bench/.venvs/fickling (never imported by dozor). The routing copies
the decision fickling's ``--huggingface`` scanner makes per file (fickling/cli.py):
zip-like or .pt/.pth -> ``scan_zip_archive``; a valid pickle or .bin/.pkl/.pickle ->
``scan_file``; anything else (7z, tar, npy, other formats, folders) is not scanned.

Prints one JSON object; exit code 1 = unsafe, 0 = safe, 2 = error, 3 = not scanned.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import PurePosixPath


def main(path: str) -> int:
    try:
        from fickling.cli import HF_RAW_PICKLE_EXTENSIONS, HF_ZIP_PICKLE_EXTENSIONS
        from fickling.loader import scan_file, scan_zip_archive
        from fickling.polyglot import find_file_properties  # needs torch
    except Exception as e:  # noqa: BLE001
        print(
            json.dumps(
                {"route": "error", "error": f"cannot import fickling: {type(e).__name__}: {e}"}
            )
        )
        return 2

    if os.path.isdir(path):
        print(json.dumps({"route": "not scanned (folder)"}))
        return 3
    ext = PurePosixPath(path).suffix.lower()
    try:
        props = find_file_properties(path)
        if props["is_torch_zip"] or props["is_standard_zip"] or ext in HF_ZIP_PICKLE_EXTENSIONS:
            route = "zip"
            results = list(scan_zip_archive(path, graceful=True).values())
        elif props["is_valid_pickle"] or ext in HF_RAW_PICKLE_EXTENSIONS:
            route = "pickle"
            results = [scan_file(path, graceful=True)]
        else:
            print(json.dumps({"route": "not scanned"}))
            return 3
    except Exception as e:  # noqa: BLE001 - report any crash as an error
        print(json.dumps({"route": "error", "error": f"{type(e).__name__}: {e}"}))
        return 2
    unsafe = [r for r in results if not r.is_safe]
    errors = [err for r in results for err in r.errors]
    print(
        json.dumps(
            {
                "route": route,
                "members": len(results),
                "severity": max((r.severity.name for r in unsafe), default="LIKELY_SAFE"),
                "errors": errors[:5],
            }
        )
    )
    if unsafe:
        return 1
    return 2 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1]))
