"""Build dozor's bundled advisory index from an OSV export of Python advisories.

    python tools/build_advisories.py                        # the shared PyPA snapshot
    python tools/build_advisories.py SOURCE --commit SHA --date YYYY-MM-DD
    python tools/build_advisories.py all.zip --output my-advisories.json.gz

SOURCE is the PyPA advisory database (its tarball, or a folder or zip of OSV YAML or
JSON files such as osv.dev's PyPI ``all.zip``). The default output is the index that
ships in the package, ``src/dozor/scan/deps/data/advisories.json.gz``, with the
database's licence beside it (``ADVISORIES-LICENSE``) when the source contains one.

The output is reproducible: the same source gives the same bytes (sorted JSON, gzip
with no timestamp). An index written with ``--output`` can be given to
``dozor scan --advisory-db`` as it is, which skips compiling at scan time.
"""

from __future__ import annotations

import argparse
import os
import sys
import tarfile
import time
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from dozor.scan.deps import osv  # noqa: E402

DATA = ROOT / "src" / "dozor" / "scan" / "deps" / "data"
SHARED = ROOT.parent / "shared" / "data" / "pypa-advisories" / "pypa-advisory-db.tar.gz"
DEFAULT_SOURCE = {
    "name": "PyPA advisory database",
    "url": "https://github.com/pypa/advisory-database",
    "commit": "57da901a",
    "commit_date": "2026-07-23",
    "licence": "CC-BY-4.0",
}


def licence_text(source: str) -> str | None:
    """The LICENSE file at the top of the source (tarball, zip or folder), if any."""
    if os.path.isdir(source):
        path = Path(source, "LICENSE")
        return path.read_text(encoding="utf-8") if path.is_file() else None
    if zipfile.is_zipfile(source):
        with zipfile.ZipFile(source) as zf:
            for info in zf.infolist():
                if info.filename.rstrip("/").split("/")[-1] == "LICENSE" and \
                        info.filename.count("/") <= 1:
                    return zf.read(info).decode("utf-8")
        return None
    if tarfile.is_tarfile(source):
        with tarfile.open(source, "r:*") as tf:
            for member in tf:
                parts = member.name.strip("./").split("/")
                if member.isfile() and parts[-1] == "LICENSE" and len(parts) <= 2:
                    fh = tf.extractfile(member)
                    return fh.read().decode("utf-8") if fh else None
    return None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default=str(SHARED),
                        help="OSV export: tarball, zip, folder or file (default: %(default)s)")
    parser.add_argument("--output", type=Path, default=DATA / "advisories.json.gz")
    parser.add_argument("--commit", default=DEFAULT_SOURCE["commit"],
                        help="source commit recorded in the index")
    parser.add_argument("--date", default=DEFAULT_SOURCE["commit_date"],
                        help="date of that commit, YYYY-MM-DD")
    parser.add_argument("--name", default=DEFAULT_SOURCE["name"])
    parser.add_argument("--url", default=DEFAULT_SOURCE["url"])
    parser.add_argument("--licence", default=DEFAULT_SOURCE["licence"])
    args = parser.parse_args(argv)

    if not os.path.exists(args.source):
        print(f"error: {args.source} does not exist", file=sys.stderr)
        return 2
    source = {"name": args.name, "url": args.url, "commit": args.commit,
              "commit_date": args.date, "licence": args.licence}
    t0 = time.perf_counter()
    try:
        index = osv.compile_path(args.source, source)
    except osv.AdvisorySourceError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    index["source"].pop("path", None)  # a build machine's path is not reproducible
    data = osv.dumps(index)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_bytes(data)
    text = licence_text(args.source)
    if text and args.output.parent == DATA:
        (DATA / "ADVISORIES-LICENSE").write_text(text, encoding="utf-8")
    n_pkg = len(index["packages"])
    print(f"{args.output}: {index['advisories']} advisories for {n_pkg} packages, "
          f"snapshot {index['snapshot']}, {len(data) / 1e6:.2f} MB, "
          f"{time.perf_counter() - t0:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
