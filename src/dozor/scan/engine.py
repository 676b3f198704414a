"""Walk the inputs, scan each file in a worker process, gather one Report.

Files are memory-mapped, so a multi-gigabyte checkpoint costs only the pages a
parser touches. Work is spread over processes (the parsers are pure Python, so
threads would share one core). An interrupt keeps what was already scanned.
"""

from __future__ import annotations

import mmap
import os
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from pathlib import Path

from dozor.findings import Finding, Location, Report, ScannedFile, Severity
from dozor.scan.base import Blob, LimitExceeded, Limits, ScanContext, ScanTimeout, finding
from dozor.scan.registry import HANDLERS, handler
from dozor.scan.sniff import sniff_all

SKIP_DIRS = frozenset({".git", ".hg", ".svn", "__pycache__", "node_modules", ".tox", ".mypy_cache",
                       ".ruff_cache", ".pytest_cache"})


def dispatch(blob: Blob, ctx: ScanContext, kind: str | None) -> Iterator[Finding]:
    """Scan `blob` as `kind`, or as every format its content shows."""
    kinds = [kind] if kind else sniff_all(blob)
    for k in kinds:
        if k not in HANDLERS:
            continue
        if k not in ctx.formats and k != "embedded-pickle":
            ctx.formats.append(k)
        try:
            yield from handler(k)(blob, ctx)
        except (LimitExceeded, ScanTimeout) as exc:
            yield finding(
                "DZ-GEN-002",
                "A scan limit was reached; part of the content was not analysed",
                Severity.MEDIUM,
                blob.location,
                evidence=str(exc),
                remediation="Do not load the file unless its source is trusted; raise the "
                "limit only for files you expect to be this large.",
                scanner="engine",
            )
            if isinstance(exc, ScanTimeout):
                return
        except Exception as exc:  # a parser bug must never hide a file
            yield finding(
                "DZ-GEN-001",
                f"The {k} scanner could not finish on this content",
                Severity.MEDIUM,
                blob.location,
                evidence=f"{type(exc).__name__}: {str(exc)[:200]}",
                remediation="Treat the file as unscanned; please report this as a dozor bug.",
                scanner="engine",
            )


def scan_file(
    path: str, display: str, limits: Limits, options: dict[str, str] | None = None
) -> tuple[list[Finding], ScannedFile]:
    """Scan one file on disk; never raises for bad content."""
    start = time.perf_counter()
    ctx = ScanContext(limits=limits, dispatch=dispatch, options=dict(options or {}))
    size = os.path.getsize(path)
    findings: list[Finding] = []
    if size:
        with open(path, "rb") as fh:
            with mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as mm:
                blob = Blob(mm, Location(display), name=os.path.basename(path))
                seen: set[tuple[str, str, str]] = set()
                for f in dispatch(blob, ctx, None):
                    key = (f.rule_id, str(f.location), f.evidence)
                    if key not in seen:
                        seen.add(key)
                        findings.append(f)
    return findings, ScannedFile(display, size, tuple(ctx.formats), time.perf_counter() - start)


def collect(paths: Iterable[str | os.PathLike[str]], errors: list[str]) -> list[Path]:
    """Files under `paths`, sorted, directories walked without following links."""
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files.append(path)
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS)
                for name in sorted(names):
                    full = Path(root, name)
                    if full.is_file() and not full.is_symlink():
                        files.append(full)
        elif path.exists():
            errors.append(f"{path}: not a regular file or directory")
        else:
            errors.append(f"{path}: no such file or directory")
    return files


Result = tuple[list[Finding], ScannedFile | None, str]
Job = tuple[str, str, Limits, dict[str, str]]


def _worker(args: Job) -> Result:
    path, display, limits, options = args
    try:
        findings, scanned = scan_file(path, display, limits, options)
        return findings, scanned, ""
    except OSError as exc:
        return [], None, f"{display}: cannot read ({exc.strerror or exc})"


def _batch_worker(batch: list[Job]) -> list[Result]:
    return [_worker(job) for job in batch]


def _batches(jobs: list[Job], n_workers: int) -> list[list[Job]]:
    """Group small files so each task is worth sending to a process (about 8 MiB or 64
    files), but keep enough tasks for every worker to stay busy."""
    per_task = max(1, min(64, len(jobs) // (n_workers * 8) or 1))
    batches: list[list[Job]] = []
    current: list[Job] = []
    size = 0
    for job in jobs:
        try:
            nbytes = os.path.getsize(job[0])
        except OSError:
            nbytes = 0
        if current and (len(current) >= per_task or size + nbytes > 8 << 20):
            batches.append(current)
            current, size = [], 0
        current.append(job)
        size += nbytes
    if current:
        batches.append(current)
    return batches


def scan_paths(
    paths: Iterable[str | os.PathLike[str]],
    *,
    limits: Limits | None = None,
    options: dict[str, str] | None = None,
    workers: int | None = None,
    on_total: Callable[[int], None] | None = None,
    on_done: Callable[[ScannedFile | None], None] | None = None,
) -> Report:
    """Scan files and directories; return one Report (interrupt-safe: partial results kept)."""
    from dozor import __version__

    limits = limits or Limits()
    report = Report(version=__version__)
    t0 = time.perf_counter()
    files = collect(paths, report.errors)
    if on_total:
        on_total(len(files))
    opts = dict(options or {})
    jobs: list[Job] = [(str(f), str(f), limits, opts) for f in files]
    n_workers = workers if workers is not None else (os.cpu_count() or 1)
    n_workers = max(1, min(n_workers, len(jobs)))

    def take(result: Result) -> None:
        findings, scanned, error = result
        report.findings.extend(findings)
        if scanned:
            report.files.append(scanned)
        if error:
            report.errors.append(error)
        if on_done:
            on_done(scanned)

    try:
        if n_workers == 1:
            for job in jobs:
                take(_worker(job))
        else:
            _run_pool(jobs, n_workers, take)
    except KeyboardInterrupt:
        done = len(report.files)
        report.errors.append(f"interrupted: {done} of {len(jobs)} files scanned")
    report.findings.sort(key=lambda f: (-f.severity, f.location.path, f.location.members))
    report.files.sort(key=lambda s: s.path)
    report.seconds = time.perf_counter() - t0
    return report


def _run_pool(jobs: list[Job], n_workers: int, take: Callable[[Result], None]) -> None:
    import multiprocessing

    method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    pool = ProcessPoolExecutor(n_workers, mp_context=multiprocessing.get_context(method))
    pending: set[Future[list[Result]]] = set()
    queue = iter(_batches(jobs, n_workers))
    try:
        for batch in queue:
            pending.add(pool.submit(_batch_worker, batch))
            if len(pending) >= n_workers * 3:
                break
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for fut in done:
                for result in fut.result():
                    take(result)
                nxt = next(queue, None)
                if nxt is not None:
                    pending.add(pool.submit(_batch_worker, nxt))
    finally:
        pool.shutdown(wait=False, cancel_futures=True)
