"""Personal-data profiles of large local files and folders through DuckDB.

Why DuckDB and not Dask or Spark. The common "too big for one pass in pandas" case in
ML teams is a folder of Parquet or CSV files on one machine or one mounted bucket, not
a cluster: DuckDB runs in-process (a pip wheel, no JVM, no scheduler, no cluster to
operate), reads Parquet column by column and CSV in parallel on every core, takes globs
over thousands of files (``lake/**/*.parquet``), and spills a GROUP BY to disk under a
memory limit. Dask would add a scheduler and pandas partitions for the same single
machine; Spark needs a JVM and a cluster and is the tool when the data already lives
in one (the same per-value detector could run there as a UDF, but that is not built).

What is pushed down. DuckDB unpivots every column to (column, value), keeps values that
match the same RE2 prefilter as `dozor.data.profile` (`regexp_matches`, vectorised and
multi-threaded), and groups them so each distinct value of a column is judged once for
the whole file set, not once per batch. Only distinct candidate values cross into Python,
where `dozor.detect.pii.find_pii` validates them (check digits, context from the column
name); with `workers` > 1 that step runs in several processes. Memory is bounded by
DuckDB's `memory_limit` (it spills to a temporary folder) and by one fetched batch.
The measured effect is in docs/benchmarks.md ("Data: personal data detection").
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from dozor.data.profile import (
    EXAMPLES,
    MAX_VALUE_CHARS,
    PREFILTER,
    ColumnProfile,
    EntityShare,
    TableProfile,
    redact_value,
)
from dozor.detect.pii import find_pii

FETCH_ROWS = 50_000
"""Distinct (column, value) pairs fetched from DuckDB per batch."""


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _source_sql(path: str) -> str:
    low = path.lower()
    lit = _literal(path)
    if low.endswith((".parquet", ".pq")) or "parquet" in low.rsplit("/", 1)[-1]:
        return f"read_parquet({lit}, union_by_name=true)"
    if low.endswith((".jsonl", ".ndjson", ".json")):
        return f"read_json({lit}, format='newline_delimited', union_by_name=true)"
    delim = "\\t" if low.endswith((".tsv", ".tab")) else ","
    return (f"read_csv({lit}, all_varchar=true, delim=E'{delim}', union_by_name=true, "
            "ignore_errors=true, parallel=true)")


def _judge(chunk: list[tuple[str, str, int]], min_score: float
           ) -> dict[str, tuple[dict[str, int], dict[str, list[str]]]]:
    """Judge distinct values; per column: entity -> values holding it, and examples."""
    out: dict[str, tuple[dict[str, int], dict[str, list[str]]]] = {}
    for column, value, n in chunk:
        found: dict[str, str] = {}
        for m in find_pii(value[:MAX_VALUE_CHARS], min_score=min_score,
                          context=column.replace("_", " ")):
            found.setdefault(m.entity, m.text)
        if not found:
            continue
        counts, examples = out.setdefault(column, ({}, {}))
        for entity, text in found.items():
            counts[entity] = counts.get(entity, 0) + n
            ex = examples.setdefault(entity, [])
            if len(ex) < EXAMPLES:
                red = redact_value(text, entity)
                if red not in ex:
                    ex.append(red)
    return out


def duckdb_profile(
    path: str | os.PathLike[str],
    *,
    min_score: float = 0.5,
    workers: int = 1,
    memory_limit: str = "2GB",
    threads: int | None = None,
    progress: Callable[[int], None] | None = None,
    columns: Iterable[str] | None = None,
) -> TableProfile:
    """Column profiles of a file or glob (Parquet, CSV/TSV, JSON Lines) via DuckDB.

    `progress` is called with the number of distinct candidate values judged so far.
    """
    from dozor.cli_support import require

    duckdb = require("duckdb", "data")
    started = time.perf_counter()
    src = str(path)
    con = duckdb.connect()
    try:
        con.execute(f"SET memory_limit={_literal(memory_limit)}")
        con.execute("SET enable_progress_bar=false")
        if threads:
            con.execute(f"SET threads={int(threads)}")
        con.execute(f"CREATE TEMP VIEW src AS SELECT * FROM {_source_sql(src)}")
        schema = con.execute("DESCRIBE src").fetchall()
        names = [r[0] for r in schema if columns is None or r[0] in set(columns)]
        types = {r[0]: r[1] for r in schema}
        rows = con.execute("SELECT count(*) FROM src").fetchall()[0][0]
        counts_sql = ", ".join(f'count("{n}") AS "c{i}"' for i, n in enumerate(names))
        non_null = con.execute(f"SELECT {counts_sql} FROM src").fetchall()[0]
        cast = ", ".join(f'CAST("{n}" AS VARCHAR) AS "{n}"' for n in names)
        query = (
            f"SELECT col, v, count(*) AS n FROM (UNPIVOT (SELECT {cast} FROM src) "
            f"ON COLUMNS(*) INTO NAME col VALUE v) "
            # a literal pattern: DuckDB compiles it once (a parameter is compiled per row)
            f"WHERE regexp_matches(v, {_literal(PREFILTER)}) GROUP BY col, v"
        )
        reader = con.sql(query).to_arrow_reader(FETCH_ROWS)
        merged: dict[str, tuple[dict[str, int], dict[str, list[str]]]] = {}
        pool = ProcessPoolExecutor(workers) if workers > 1 else None
        done = 0
        try:
            pending: list[Any] = []
            for batch in reader:
                chunk = list(zip(*(batch.column(i).to_pylist() for i in range(3)),
                                 strict=True))
                if pool is None:
                    _merge(merged, _judge(chunk, min_score))
                else:
                    half = (len(chunk) + workers - 1) // workers
                    pending.extend(pool.submit(_judge, chunk[i : i + half], min_score)
                                   for i in range(0, len(chunk), half))
                    if len(pending) >= workers * 2:
                        for fut in pending:
                            _merge(merged, fut.result())
                        pending = []
                done += len(chunk)
                if progress is not None:
                    progress(len(chunk))
            for fut in pending:
                _merge(merged, fut.result())
        finally:
            if pool is not None:
                pool.shutdown(cancel_futures=True)
    finally:
        con.close()
    profiles = []
    for i, name in enumerate(names):
        values = int(non_null[i])
        counts, examples = merged.get(name, ({}, {}))
        shares = tuple(sorted(
            (EntityShare(e, n, n / values if values else 0.0, tuple(examples.get(e, ())))
             for e, n in counts.items()), key=lambda s: (-s.values, s.entity)))
        profiles.append(ColumnProfile(name, str(types[name]), values, int(rows) - values,
                                      False, shares))
    return TableProfile(src, Path(src).suffix.lstrip(".") or "duckdb", int(rows),
                        tuple(profiles), time.perf_counter() - started, True)


def _merge(into: dict[str, tuple[dict[str, int], dict[str, list[str]]]],
           part: dict[str, tuple[dict[str, int], dict[str, list[str]]]]) -> None:
    for column, (counts, examples) in part.items():
        c, ex = into.setdefault(column, ({}, {}))
        for entity, n in counts.items():
            c[entity] = c.get(entity, 0) + n
        for entity, items in examples.items():
            have = ex.setdefault(entity, [])
            for item in items:
                if len(have) < EXAMPLES and item not in have:
                    have.append(item)
