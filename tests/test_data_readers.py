"""Table readers: formats, streaming in batches, malformed and truncated input, fuzz."""

from __future__ import annotations

import json
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dozor.data.readers import DataError, detect_format, open_table, open_table_buffer


def _rows(reader: object, rows: int = 3) -> list[dict]:
    out: list[dict] = []
    for batch in reader.iter_batches(rows=rows):  # type: ignore[attr-defined]
        assert batch.num_rows <= rows
        out.extend(batch.to_pylist())
    return out


def test_csv_all_text_keeps_leading_zeros_and_plus(tmp_path: Path) -> None:
    p = tmp_path / "a.csv"
    p.write_text('id,phone,note\n007,+1 212 555 1234,"two\nlines"\n8,0123,x\n', "utf-8")
    with open_table(p) as r:
        assert r.format == "csv" and [n for n, _ in r.schema] == ["id", "phone", "note"]
        assert all(str(t) == "string" for _, t in r.schema) and r.num_rows is None
        rows = _rows(r, rows=1)
    assert rows[0] == {"id": "007", "phone": "+1 212 555 1234", "note": "two\nlines"}
    assert rows[1]["phone"] == "0123"


def test_csv_bad_rows_are_skipped_and_counted(tmp_path: Path) -> None:
    p = tmp_path / "a.tsv"
    p.write_text("a\tb\n1\t2\n3\t4\t5\n6\t7\n", "utf-8")
    with open_table(p) as r:
        assert r.format == "tsv"
        assert [x["a"] for x in _rows(r)] == ["1", "6"]
        assert r.skipped_rows == 1


def test_parquet_streams_row_groups(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": list(range(10)), "y": [str(i) for i in range(10)]}), p,
                   row_group_size=4)
    with open_table(p) as r:
        assert r.num_rows == 10 and r.format == "parquet"
        rows = _rows(r, rows=3)
    assert [x["x"] for x in rows] == list(range(10))


def test_jsonl_objects_nested_and_bad_lines(tmp_path: Path) -> None:
    p = tmp_path / "t.jsonl"
    lines = [json.dumps({"a": 1, "b": {"c": [1, 2]}}), "not json", "", json.dumps({"a": "x"}),
             json.dumps([1, 2]), "[" * 100_000]
    p.write_text("\n".join(lines) + "\n", "utf-8")
    with open_table(p) as r:
        names = [n for n, _ in r.schema]
        assert names == ["a", "b", "value"]
        rows = _rows(r, rows=2)
        assert r.skipped_rows == 2
    assert rows[0] == {"a": "1", "b": '{"c": [1, 2]}', "value": None}
    assert rows[2]["value"] == "[1, 2]"


def test_text_folder_rows_are_lines_and_binary_is_skipped(tmp_path: Path) -> None:
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "a.txt").write_text("hello\nworld\n", "utf-8")
    (tmp_path / "d" / "b.md").write_text("x", "utf-8")
    (tmp_path / "d" / "blob").write_bytes(b"\x00\x01\x02")
    with open_table(tmp_path / "d") as r:
        assert r.format == "text"
        rows = _rows(r)
        assert r.skipped_files == 1  # type: ignore[attr-defined]
    assert [(x["file"], x["line"], x["text"]) for x in rows] == [
        ("a.txt", 1, "hello"), ("a.txt", 2, "world"), ("b.md", 1, "x")]


@pytest.mark.parametrize(("name", "data"), [
    ("t.parquet", b"PAR1 this is not parquet"),
    ("t.csv", b""),
    ("t.jsonl", b"no objects here\n[1]x\n"),
    ("t.csv", b'a,"b\n1,"2'),
])
def test_malformed_files_give_one_line_errors(tmp_path: Path, name: str, data: bytes) -> None:
    p = tmp_path / name
    p.write_bytes(data)
    with pytest.raises(DataError) as info:
        with open_table(p) as r:
            _rows(r)
    assert "\n" not in str(info.value) and name in str(info.value)


def test_truncated_parquet(tmp_path: Path) -> None:
    p = tmp_path / "t.parquet"
    pq.write_table(pa.table({"x": list(range(1000))}), p)
    data = p.read_bytes()
    p.write_bytes(data[: len(data) // 2])
    with pytest.raises(DataError):
        open_table(p)


def test_format_detection_by_content(tmp_path: Path) -> None:
    (tmp_path / "a").write_bytes(b"PAR1xxxx")
    (tmp_path / "b").write_text('{"a": 1}\n', "utf-8")
    (tmp_path / "c").write_text("a\tb\n", "utf-8")
    (tmp_path / "d").write_text("a,b\n", "utf-8")
    assert [detect_format(tmp_path / n) for n in "abcd"] == ["parquet", "jsonl", "tsv", "csv"]
    with pytest.raises(DataError):
        open_table(tmp_path / "missing.csv")


def test_buffer_reader_matches_file_reader(tmp_path: Path) -> None:
    data = b"a,b\n1,2\n3,4\n"
    with open_table_buffer(data, "x.csv") as r:
        assert _rows(r) == [{"a": "1", "b": "2"}, {"a": "3", "b": "4"}]
    with open_table_buffer(b'{"k": "v"}\n', "x.jsonl") as r:
        assert _rows(r) == [{"k": "v"}]


@settings(max_examples=60, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=2000), kind=st.sampled_from(["csv", "tsv", "jsonl", "parquet"]))
def test_fuzz_readers_never_raise_anything_but_data_error(tmp_path: Path, data: bytes,
                                                          kind: str) -> None:
    p = tmp_path / f"f.{kind}"
    p.write_bytes(data)
    try:
        with open_table(p) as r:
            for _ in r.iter_batches(rows=7):
                pass
    except DataError:
        pass
