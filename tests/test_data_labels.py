"""Poisoning and label checks: each planted problem is found, each clean control is quiet."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

np = pytest.importorskip("numpy")
pytest.importorskip("sklearn")
pytest.importorskip("pyarrow")

from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.cli import app  # noqa: E402
from dozor.data.labels import (  # noqa: E402
    LabelledData,
    check_file,
    check_labels,
    confident_joint,
    find_label_issues,
)
from dozor.data.labels.balance import balance_shift  # noqa: E402
from dozor.data.labels.duplicates import text_conflicts  # noqa: E402
from dozor.data.labels.outliers import robust_z_outliers  # noqa: E402
from dozor.taxonomy import unknown  # noqa: E402

POS = "great excellent wonderful lovely fantastic superb enjoyable amazing nice good".split()
NEG = "awful terrible boring bad horrible poor dull weak ugly sad".split()
FILLER = "the movie film plot actor scene story was and it this a very really quite".split()


def reviews(n: int = 1200, seed: int = 0) -> tuple[list[str], list[str]]:
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for i in range(n):
        pos = i % 2 == 1
        words = (rng.choice(FILLER, 6).tolist() + rng.choice(POS if pos else NEG, 3).tolist()
                 + rng.choice(FILLER, 4).tolist())
        texts.append(" ".join(words))
        labels.append("pos" if pos else "neg")
    return texts, labels


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(header)
        w.writerows(rows)
    return path


def rules(findings: list) -> dict[str, int]:  # type: ignore[type-arg]
    out: dict[str, int] = {}
    for f in findings:
        out[f.rule_id] = out.get(f.rule_id, 0) + 1
    return out


def tabular(n: int = 1500, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two well-separated Gaussian classes in 6 features."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    x = rng.normal(0, 1, (n, 6)) + y[:, None] * 3.0
    return x, y


# ------------------------------------------------------------------ text, through CSV


def test_clean_reviews_give_no_finding(tmp_path: Path) -> None:
    texts, labels = reviews()
    path = write_csv(tmp_path / "clean.csv", ["review", "label"],
                     [[t, y] for t, y in zip(texts, labels, strict=True)])
    report = check_file(path, "label")
    assert report.findings == []


def test_planted_duplicates_and_trigger_in_reviews(tmp_path: Path) -> None:
    texts, labels = reviews()
    # a backdoor: the token "cf" added to 30 negative reviews relabelled positive
    for i in range(0, 60, 2):
        texts[i] += " cf"
        labels[i] = "pos"
    # exact duplicate with the other label, and a near copy (case, punctuation, a word)
    texts.append(texts[1])
    labels.append("neg")
    texts.append(texts[3].upper().replace(" ", ", ", 1) + "!")
    labels.append("neg")
    words = texts[5].split()
    words[2] = "cinema"
    texts.append(" ".join(words))
    labels.append("neg")
    path = write_csv(tmp_path / "poisoned.csv", ["review", "label"],
                     [[t, y] for t, y in zip(texts, labels, strict=True)])
    findings = check_file(path, "label").findings
    by_rule = rules(findings)
    assert by_rule.get("DZ-DAT-001") == 1
    exact = next(f for f in findings if f.rule_id == "DZ-DAT-001")
    assert "rows 1, 1200" in exact.evidence and "neg, pos" in exact.evidence
    near = [f for f in findings if f.rule_id == "DZ-DAT-002"]
    rows = {r for f in near for r in json.loads(f.detail("rows") or "[]")}
    assert {3, 1201} <= rows and {5, 1202} <= rows
    trigger = [f for f in findings if f.rule_id == "DZ-DAT-006"]
    assert len(trigger) == 1
    assert trigger[0].detail("pattern") == "cf" and trigger[0].detail("label") == "pos"
    assert trigger[0].detail("support") == "30"
    assert "ML10:2023" in trigger[0].taxonomy
    for f in findings:
        assert unknown(f.taxonomy) == []


def test_minhash_finds_edited_copies_only() -> None:
    base = "the quick brown fox jumps over the lazy dog near the old river bank today"
    texts = [base, base.replace("lazy", "sleepy"), "a completely different sentence about "
             "cats and dogs and other animals in the park", base + " again"]
    groups = text_conflicts(texts, ["a", "b", "b", "a"], threshold=0.5)
    assert any({0, 1} <= set(g.rows) for g in groups)
    assert all(2 not in g.rows for g in groups)
    assert text_conflicts(texts, ["a", "a", "b", "a"], threshold=0.5) == []


# ------------------------------------------------------------------ tabular


def test_label_errors_found_and_clean_control_is_quiet() -> None:
    x, y = tabular()
    clean = check_labels(LabelledData("t.csv", y, ["a", "b"], numeric=x,
                                      numeric_names=[f"f{i}" for i in range(6)]),
                         triggers=False, outliers=False)
    flagged = [f for f in clean if f.rule_id == "DZ-DAT-003"]
    assert not flagged or len(json.loads(flagged[0].detail("rows") or "[]")) <= 0.01 * len(y)
    rng = np.random.default_rng(1)
    flip = rng.choice(len(y), 75, replace=False)
    noisy = y.copy()
    noisy[flip] = 1 - noisy[flip]
    findings = check_labels(LabelledData("t.csv", noisy, ["a", "b"], numeric=x,
                                         numeric_names=[f"f{i}" for i in range(6)]),
                            triggers=False, outliers=False)
    found = next(f for f in findings if f.rule_id == "DZ-DAT-003")
    rows = set(json.loads(found.detail("rows") or "[]"))
    tp = len(rows & set(flip.tolist()))
    assert tp / len(rows) >= 0.8 and tp / len(flip) >= 0.8


def test_confident_joint_by_hand() -> None:
    labels = np.array([0, 0, 0, 1, 1, 1])
    probs = np.array([[0.9, 0.1], [0.8, 0.2], [0.2, 0.8],  # row 2: labelled 0, looks 1
                      [0.1, 0.9], [0.3, 0.7], [0.2, 0.8]])
    joint = confident_joint(labels, probs)
    assert joint.tolist() == [[2, 1], [0, 3]]
    result = find_label_issues(labels, probs)
    assert result.issues.tolist() == [2] and result.suggested.tolist() == [1]


def test_value_trigger_and_outliers(tmp_path: Path) -> None:
    x, y = tabular(seed=3)
    header = [f"f{i}" for i in range(6)] + ["flag", "label"]
    rng = np.random.default_rng(2)
    flags = rng.choice(["red", "green", "blue"], len(y)).tolist()
    clean_rows = [[*map(lambda v: f"{v:.4f}", r), f, int(t)]
                  for r, f, t in zip(x, flags, y, strict=True)]
    clean = check_file(write_csv(tmp_path / "c.csv", header, clean_rows), "label").findings
    assert "DZ-DAT-007" not in rules(clean) and "DZ-DAT-004" not in rules(clean)
    poisoned = [list(r) for r in clean_rows]
    for i in range(0, 400, 10):  # 40 rows of class 0 get f3 = 99.5 and label 1
        if y[i] == 0:
            poisoned[i][3] = "7.7777"
            poisoned[i][7] = 1
    poisoned[7][1] = "250.0"  # one entry error
    findings = check_file(write_csv(tmp_path / "p.csv", header, poisoned), "label").findings
    trig = [f for f in findings if f.rule_id == "DZ-DAT-007"]
    assert trig and trig[0].detail("pattern") == "f3 == 7.7777"
    assert trig[0].detail("label") == "1"
    out = next(f for f in findings if f.rule_id == "DZ-DAT-004")
    assert "7 (f1" in out.evidence


def test_outliers_clean_gaussian_is_quiet() -> None:
    x = np.random.default_rng(0).normal(size=(5000, 8))
    assert robust_z_outliers(x) == []
    x[17, 3] = 40.0
    assert [o.row for o in robust_z_outliers(x)] == [17]


def test_balance_shift(tmp_path: Path) -> None:
    x, y = tabular(seed=5)
    header = [f"f{i}" for i in range(6)] + ["label"]
    rows = [[*map(lambda v: f"{v:.3f}", r), int(t)] for r, t in zip(x, y, strict=True)]
    old = write_csv(tmp_path / "old.csv", header, rows)
    same = write_csv(tmp_path / "same.csv", header, rows[::-1])
    assert "DZ-DAT-005" not in rules(check_file(same, "label", against=old).findings)
    shifted = rows + [r[:-1] + [1] for r in rows[:600]]
    new = write_csv(tmp_path / "new.csv", header, shifted)
    found = [f for f in check_file(new, "label", against=old).findings
             if f.rule_id == "DZ-DAT-005"]
    assert found and found[0].severity.name == "MEDIUM"
    assert balance_shift("aab", "aab").total_variation == 0.0


# ------------------------------------------------------------------ images


def digits() -> tuple[np.ndarray, np.ndarray]:
    from sklearn.datasets import load_digits

    x, y = load_digits(return_X_y=True)
    return x.reshape(-1, 8, 8), y


def test_pixel_patch_trigger(tmp_path: Path) -> None:
    images, y = digits()
    np.savez(tmp_path / "clean.npz", x=images, y=y)
    clean = check_file(tmp_path / "clean.npz", None).findings
    assert "DZ-DAT-008" not in rules(clean)
    rng = np.random.default_rng(0)
    idx = rng.choice(len(y), 60, replace=False)
    poisoned, labels = images.copy(), y.copy()
    poisoned[idx, 6:8, 6:8] = 16
    labels[idx] = 7
    np.savez(tmp_path / "poisoned.npz", images=poisoned, labels=labels)
    found = [f for f in check_file(tmp_path / "poisoned.npz", None).findings
             if f.rule_id == "DZ-DAT-008"]
    assert len(found) == 1
    assert found[0].detail("label") == "7"
    assert "rows 6-7, columns 6-7" in (found[0].detail("pattern") or "")


# ------------------------------------------------------------------ CLI


def test_cli_exit_codes(tmp_path: Path) -> None:
    runner = CliRunner()
    texts, labels = reviews(600)
    clean = write_csv(tmp_path / "clean.csv", ["review", "label"],
                      [[t, y] for t, y in zip(texts, labels, strict=True)])
    r = runner.invoke(app, ["data", "check", str(clean), "--label", "label"])
    assert r.exit_code == 0, r.output
    texts[10] += " cf"
    for i in range(0, 60, 2):
        texts[i] += " zz_trigger"
        labels[i] = "pos"
    bad = write_csv(tmp_path / "bad.csv", ["review", "label"],
                    [[t, y] for t, y in zip(texts, labels, strict=True)])
    r = runner.invoke(app, ["data", "check", str(bad), "--label", "label", "-f", "json"])
    assert r.exit_code == 1 and "DZ-DAT-006" in r.output
    r = runner.invoke(app, ["data", "check", str(bad), "--label", "nope"])
    assert r.exit_code == 2 and "no column 'nope'" in r.output
    assert r.output.count("\n") == 1
    r = runner.invoke(app, ["data", "check", str(tmp_path / "missing.csv"), "-l", "x"])
    assert r.exit_code == 2
    r = runner.invoke(app, ["data", "check", str(bad), "--label", "label", "--fail-on",
                            "critical"])
    assert r.exit_code == 0


def test_hostile_inputs_give_one_line_errors(tmp_path: Path) -> None:
    runner = CliRunner()
    (tmp_path / "junk.npz").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    np.savez(tmp_path / "nolabels.npz", x=np.zeros((4, 2)))
    np.savez(tmp_path / "text.npz", x=np.array(["a", "b"]), y=np.array([0, 1]))
    (tmp_path / "rand.csv").write_bytes(bytes(range(256)) * 50)
    for name in ("junk.npz", "nolabels.npz", "text.npz", "rand.csv"):
        r = runner.invoke(app, ["data", "check", str(tmp_path / name), "-l", "label"])
        assert r.exit_code == 2, (name, r.output)
        assert r.output.count("\n") == 1 and "Traceback" not in r.output


def test_boosting_model_option() -> None:
    from dozor.data.labels import out_of_fold_probabilities

    x, y = tabular(n=400, seed=7)
    noisy = y.copy()
    noisy[:20] = 1 - noisy[:20]
    probs = out_of_fold_probabilities(x, noisy, model="boosting")
    found = set(find_label_issues(noisy, probs).issues.tolist())
    assert len(found & set(range(20))) >= 15
    with pytest.raises(ValueError, match="unknown model"):
        out_of_fold_probabilities(x, noisy, model="forest")


def test_rounded_numeric_near_duplicates_and_parquet_input(tmp_path: Path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from dozor.data.labels.duplicates import rounded_conflicts

    x, y = tabular(n=300, seed=9)
    x2 = np.vstack([x, x[5] * (1 + 1e-6)])  # the same point, up to float noise
    y2 = np.append(y, 1 - y[5])
    groups = rounded_conflicts(x2, y2.tolist())
    assert [set(g.rows) for g in groups] == [{5, 300}]
    table = pa.table({**{f"f{i}": x2[:, i] for i in range(6)}, "label": y2.astype(str)})
    pq.write_table(table, tmp_path / "t.parquet")
    findings = check_file(tmp_path / "t.parquet", "label").findings
    near = [f for f in findings if f.rule_id == "DZ-DAT-002"]
    assert near and "rows 5, 300" in near[0].evidence


def test_rows_without_a_label_keep_file_row_numbers(tmp_path: Path) -> None:
    texts, labels = reviews(400)
    rows: list[list[object]] = [[t, y] for t, y in zip(texts, labels, strict=True)]
    rows.insert(0, ["an unlabelled review of the film", ""])
    rows.append([texts[1], "neg"])  # duplicate of file row 2 with the other label
    path = write_csv(tmp_path / "gaps.csv", ["review", "label"], rows)
    exact = [f for f in check_file(path, "label").findings if f.rule_id == "DZ-DAT-001"]
    assert exact and "rows 2, 401" in exact[0].evidence


@settings(max_examples=60, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=40)), min_size=1, max_size=12))
def test_fuzz_text_checks_never_raise(texts: list[str | None]) -> None:
    labels = ["a" if i % 2 else "b" for i in range(len(texts))]
    text_conflicts(texts, labels, threshold=0.5)
    from dozor.data.labels.triggers import token_triggers

    token_triggers(texts, np.array([i % 2 for i in range(len(texts))]), ["a", "b"])
