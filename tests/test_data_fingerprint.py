"""Fingerprints and diffs: a changed row names its block, schema and label changes are
explained, an identical dataset is identical."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pytest.importorskip("pyarrow")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.cli import app  # noqa: E402
from dozor.data.fingerprint import (  # noqa: E402
    ManifestError,
    diff_manifests,
    fingerprint,
    load_manifest,
)


def write_csv(path: Path, header: list[str], rows: list[list[object]], **kw: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, **kw)  # type: ignore[arg-type]
        w.writerow(header)
        w.writerows(rows)
    return path


ROWS = [[i, f"user{i}@example.com", i % 3] for i in range(100)]


@pytest.fixture
def v1(tmp_path: Path) -> Path:
    root = tmp_path / "v1"
    write_csv(root / "train.csv", ["id", "email", "label"], ROWS)
    write_csv(root / "test.csv", ["id", "email", "label"], ROWS[:10])
    (root / "README").write_text("data card\n")
    return root


def test_manifest_contents(v1: Path) -> None:
    m = fingerprint(v1, block_rows=25, label="label")
    files = {f["path"]: f for f in m["files"]}
    assert set(files) == {"train.csv", "test.csv", "README"}
    train = files["train.csv"]
    assert train["rows"] == 100 and len(train["blocks"]) == 4
    assert [b["rows"] for b in train["blocks"]] == [25, 25, 25, 25]
    assert train["schema"][1][0] == "email"
    assert train["labels"] == {"0": 34, "1": 33, "2": 33}
    assert train["pii"]["email"]["EMAIL"] == 1.0
    assert len(files["README"]["sha256"]) == 64 and "rows" not in files["README"]
    assert m["kind"] == "dozor-data-manifest" and m["version"]
    # deterministic apart from the time
    again = fingerprint(v1, block_rows=25, label="label")
    assert [f for f in again["files"]] == m["files"]


def test_diff_explains_changes(v1: Path, tmp_path: Path) -> None:
    old = fingerprint(v1, block_rows=25, label="label")
    v2 = tmp_path / "v2"
    rows = [list(r) for r in ROWS]
    rows[61][2] = 0  # one label flipped (1 -> 0) in block 2
    rows += [[i, f"user{i}@example.com", 0] for i in range(100, 130)]  # 30 rows added
    write_csv(v2 / "train.csv", ["id", "email", "label"], rows)
    write_csv(v2 / "test.csv", ["id", "email", "label", "phone"],
              [r + ["+7 912 345-67-89"] for r in ROWS[:10]])  # a column of phones added
    write_csv(v2 / "extra.csv", ["a"], [[1]])
    new = fingerprint(v2, block_rows=25, label="label")
    result = diff_manifests(old, new)
    status = {f.path: f for f in result.files}
    assert status["README"].status == "removed"
    assert status["extra.csv"].status == "added"
    train = status["train.csv"]
    assert train.status == "changed"
    assert train.changed_blocks == (2, 4, 5)
    text = " | ".join(train.notes)
    assert "rows 100 -> 130 (+30)" in text and "rows 50-74" in text
    assert "label distribution moved" in text and "'0'" in text
    test = " | ".join(status["test.csv"].notes)
    assert "columns added: phone" in test
    assert "personal data appeared: phone holds PHONE" in test
    assert result.changed and json.dumps(result.to_dict())


def test_reformatted_csv_has_the_same_rows(v1: Path, tmp_path: Path) -> None:
    old = fingerprint(v1 / "train.csv", block_rows=25, pii=False)
    quoted = write_csv(tmp_path / "q" / "train.csv", ["id", "email", "label"], ROWS,
                       quoting=csv.QUOTE_ALL)
    new = fingerprint(quoted, block_rows=25, pii=False)
    (change,) = diff_manifests(old, new).files
    assert change.status == "changed" and change.changed_blocks == ()
    assert any("only the encoding or layout changed" in n for n in change.notes)
    same = diff_manifests(old, fingerprint(v1 / "train.csv", block_rows=25, pii=False))
    assert not same.changed


def test_cli(v1: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    manifest = tmp_path / "m.json"
    r = runner.invoke(app, ["fingerprint", str(v1), "-o", str(manifest), "--label", "label",
                            "--block-rows", "25"])
    assert r.exit_code == 0, r.output
    assert load_manifest(manifest)["files"]
    r = runner.invoke(app, ["diff", str(manifest), str(v1)])
    assert r.exit_code == 0 and "no change" in r.output
    write_csv(v1 / "train.csv", ["id", "email", "label"], ROWS[:-1])
    r = runner.invoke(app, ["diff", str(manifest), str(v1), "--format", "json"])
    assert r.exit_code == 1
    data = json.loads(r.output)
    assert data["changed"] and any(f["path"] == "train.csv" and f["changed_blocks"] == [3]
                                   for f in data["files"])
    bad = tmp_path / "bad.json"
    bad.write_text("{\"kind\": \"something else\", \"files\": []}")
    with pytest.raises(ManifestError):
        load_manifest(bad)
    r = runner.invoke(app, ["diff", str(tmp_path / "missing"), str(v1)])
    assert r.exit_code == 2 and r.output.count("\n") == 1
    r = runner.invoke(app, ["fingerprint", str(v1), "-o", str(tmp_path / "no" / "m.json")])
    assert r.exit_code == 2


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20)
entry = st.fixed_dictionaries({"path": st.sampled_from(["a.csv", "b.csv"])}, optional={
    k: json_values for k in ("sha256", "size", "rows", "schema", "blocks", "block_rows",
                             "labels", "pii")})


@settings(max_examples=60, deadline=None)
@given(st.lists(entry, max_size=3), st.lists(entry, max_size=3))
def test_fuzz_diff_of_hostile_manifests_never_raises(old: list, new: list) -> None:  # type: ignore[type-arg]
    result = diff_manifests({"files": old}, {"files": new})  # must not raise
    json.dumps(result.to_dict())
