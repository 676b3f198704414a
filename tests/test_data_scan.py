"""Column profiles and the dataset scanner (DZ-PII-*) on generated CSV, Parquet and JSONL."""

from __future__ import annotations

import csv
import json
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from dozor.data.profile import profile_table, redact_value
from dozor.scan.engine import scan_paths
from dozor.taxonomy import lookup

INN = "7707083893"


def _luhn(body: str) -> str:
    from dozor.detect.pii import luhn_ok

    return next(body + d for d in "0123456789" if luhn_ok(body + d))


def _rows(n: int) -> list[dict[str, str]]:
    out = []
    for i in range(n):
        out.append({
            "customer": ["John Smith", "Mary Johnson", "Иванов Иван Иванович"][i % 3],
            "phone": f"+1 (212) 555-{1000 + i % 9000:04d}",
            "email": f"user{i}@example.com",
            "card": _luhn(f"4111111111{i % 100000:05d}"),
            "inn": INN,
            "comment": f"please call {i}@mail.ru" if i % 50 == 0 else "all good, thanks",
            "amount": f"{i * 1.5:.2f}",
            "status": ["new", "paid", "shipped"][i % 3],
        })
    return out


def _write(tmp: Path, fmt: str, rows: list[dict[str, str]]) -> Path:
    p = tmp / f"data.{fmt}"
    if fmt == "csv":
        with p.open("w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]))
            w.writeheader()
            w.writerows(rows)
    elif fmt == "jsonl":
        p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), "utf-8")
    else:
        pq.write_table(pa.Table.from_pylist(rows), p, row_group_size=500)
    return p


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_profile_shares_per_column(tmp_path: Path, fmt: str) -> None:
    p = _write(tmp_path, fmt, _rows(1500))
    seen: list[int] = []
    prof = profile_table(p, rows_per_batch=400, progress=seen.append)
    assert prof.complete and prof.rows == 1500 and sum(seen) == 1500
    cols = {c.name: c for c in prof.columns}
    top = {name: (c.entities[0].entity, round(c.entities[0].share, 2))
           for name, c in cols.items() if c.entities}
    assert top["customer"] == ("PERSON", 1.0)
    assert top["phone"] == ("PHONE", 1.0)
    assert top["email"] == ("EMAIL", 1.0)
    assert top["card"] == ("CREDIT_CARD", 1.0)
    assert top["inn"] == ("RU_INN", 1.0)
    assert top["comment"] == ("EMAIL", 0.02)
    assert "amount" not in top and "status" not in top
    for c in prof.columns:
        for e in c.entities:
            for ex in e.examples:
                assert INN not in ex and "@example.com" not in ex.replace("*", "")


def test_max_rows_makes_a_partial_profile(tmp_path: Path) -> None:
    p = _write(tmp_path, "csv", _rows(1000))
    prof = profile_table(p, max_rows=250, rows_per_batch=100)
    assert prof.rows == 250 and not prof.complete and prof.stopped_by == "max_rows"


def test_deadline_stops_early(tmp_path: Path) -> None:
    p = _write(tmp_path, "csv", _rows(2000))
    prof = profile_table(p, rows_per_batch=100, deadline=time.monotonic() - 1)
    assert prof.rows == 100 and prof.stopped_by == "deadline"


def test_redaction_hides_values() -> None:
    assert redact_value("+1 (212) 555-1234", "PHONE") == "+1 (***) ***-**34"
    assert redact_value("John Smith", "PERSON") == "J*** S****"
    assert "john" not in redact_value("john.doe@example.com", "EMAIL")


@pytest.mark.parametrize("fmt", ["csv", "jsonl", "parquet"])
def test_scan_reports_one_finding_per_personal_column(tmp_path: Path, fmt: str) -> None:
    p = _write(tmp_path, fmt, _rows(600))
    report = scan_paths([p], workers=1)
    pii = [f for f in report.findings if f.rule_id.startswith("DZ-PII")]
    by_col = {f.location.members[-1]: f for f in pii}
    assert set(by_col) == {"column customer", "column phone", "column email", "column card",
                           "column inn", "column comment"}
    assert by_col["column card"].rule_id == "DZ-PII-001"
    assert by_col["column card"].severity.name == "HIGH"
    assert by_col["column phone"].rule_id == "DZ-PII-002"
    assert "100%" in by_col["column phone"].title
    for f in pii:
        for t in f.taxonomy:
            assert lookup(t) is not None
        assert INN not in f.evidence and "555-1000" not in f.evidence
        assert "@example.com" not in f.evidence


def test_scan_malformed_dataset_and_benign_table(tmp_path: Path) -> None:
    bad = tmp_path / "broken.parquet"
    bad.write_bytes(b"PAR1" + b"\x00" * 100)
    ok = tmp_path / "plain.csv"
    ok.write_text("x,y\n1,2\n3,4\nred,blue\n", "utf-8")
    report = scan_paths([bad, ok], workers=1)
    rules = sorted(f.rule_id for f in report.findings)
    assert rules == ["DZ-PII-010"]


def test_skipped_rows_are_reported(tmp_path: Path) -> None:
    p = tmp_path / "rows.csv"
    p.write_text("a,b\n1,2\n1,2,3\n", "utf-8")
    report = scan_paths([p], workers=1)
    assert [f.rule_id for f in report.findings] == ["DZ-PII-012"]


@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_duckdb_profile_agrees_with_arrow_profile(tmp_path: Path, fmt: str) -> None:
    pytest.importorskip("duckdb")
    from dozor.data.duckdb_profile import duckdb_profile

    p = _write(tmp_path, fmt, _rows(900))
    arrow = {c.name: [(e.entity, e.values) for e in c.entities]
             for c in profile_table(p).columns}
    duck = {c.name: [(e.entity, e.values) for e in c.entities]
            for c in duckdb_profile(p).columns}
    assert duck == arrow
    assert duck["phone"] == [("PHONE", 900)]
