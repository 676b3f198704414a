"""Anonymisation: joins survive, nothing detected survives, encryption round-trips."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

pa = pytest.importorskip("pyarrow")
pytest.importorskip("cryptography")

import pyarrow.parquet as pq  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from typer.testing import CliRunner  # noqa: E402

from dozor.cli import app  # noqa: E402
from dozor.data.anonymize import (  # noqa: E402
    AnonKey,
    AnonymizePolicy,
    Anonymizer,
    PolicyError,
    anonymize_file,
    load_policy,
    restore_file,
)
from dozor.data.anonymize.fake import fake_value  # noqa: E402
from dozor.data.anonymize.operators import Operators, OperatorSpec, generalize, mask  # noqa: E402
from dozor.detect.pii import find_pii, iban_ok, inn_ok, luhn_ok, snils_ok  # noqa: E402

KEY = AnonKey(bytes(range(32)))
OTHER_KEY = AnonKey(bytes(range(1, 33)))

PEOPLE = [
    {"id": "1", "name": "John Smith", "email": "john.smith@gmail.com",
     "phone": "+1 212 555 0134", "card": "4111 1111 1111 1111", "inn": "7707083893",
     "snils": "112-233-445 95", "iban": "DE89 3704 0044 0532 0130 00",
     "ip": "192.168.10.77", "birth_date": "1985-03-14",
     "notes": "write to john.smith@gmail.com or call +7 912 345-67-89", "amount": "10.5"},
    {"id": "2", "name": "Мария Иванова", "email": "maria.ivanova@yandex.ru",
     "phone": "+7 (912) 345-67-89", "card": "5500 0000 0000 0004", "inn": "500100732259",
     "snils": "087-654-303 00", "iban": "GB82 WEST 1234 5698 7654 32",
     "ip": "10.1.2.3", "birth_date": "1990-11-02", "notes": "nothing personal here",
     "amount": "20"},
    {"id": "3", "name": "Ann Lee", "email": "Ann.Lee@Example.org", "phone": "",
     "card": "", "inn": "", "snils": "", "iban": "", "ip": "", "birth_date": "",
     "notes": "", "amount": "30"},
]


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def detected_values(rows: list[dict[str, str]]) -> set[str]:
    """Every value the detector finds in the input, with the column name as context."""
    found = set()
    for row in rows:
        for col, value in row.items():
            for m in find_pii(value, context=col.replace("_", " ")):
                found.add(m.text)
    return found


@pytest.fixture
def people(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "people.csv", PEOPLE)


def test_same_value_same_pseudonym_across_tables_so_joins_work(tmp_path: Path,
                                                               people: Path) -> None:
    orders = write_csv(tmp_path / "orders.csv", [
        {"customer": "JOHN.SMITH@gmail.com ", "total": "3"},
        {"customer": "maria.ivanova@yandex.ru", "total": "5"},
        {"customer": "stranger@nowhere.net", "total": "7"},
    ])
    anonymize_file(people, tmp_path / "p.csv", key=KEY)
    anonymize_file(orders, tmp_path / "o.csv", key=KEY)
    p = {r["id"]: r for r in read_csv(tmp_path / "p.csv")}
    o = read_csv(tmp_path / "o.csv")
    # case does not break the join (the trailing space around the span is kept)
    assert o[0]["customer"] == p["1"]["email"] + " "
    assert o[1]["customer"] == p["2"]["email"]
    assert o[2]["customer"] not in {r["email"] for r in p.values()}
    assert p["1"]["email"].startswith("EMAIL_")
    # the pseudonym inside free text is the same as in the column
    assert p["1"]["email"] in p["1"]["notes"]
    # another key gives other pseudonyms (nobody without the key can recompute them)
    anonymize_file(people, tmp_path / "p2.csv", key=OTHER_KEY)
    assert read_csv(tmp_path / "p2.csv")[0]["email"] != p["1"]["email"]


@pytest.mark.parametrize("operator", ["hash", "redact", "mask", "generalize", "encrypt",
                                      "fake"])
def test_no_detected_value_is_left(tmp_path: Path, people: Path, operator: str) -> None:
    result = anonymize_file(people, tmp_path / "out.csv", key=KEY,
                            policy=AnonymizePolicy.from_dict({"default": operator}))
    assert result.verified is True and result.leaks == 0
    text = (tmp_path / "out.csv").read_text(encoding="utf-8")
    secrets = detected_values(PEOPLE)
    assert {"john.smith@gmail.com", "4111 1111 1111 1111", "7707083893"} <= secrets
    left = {s for s in secrets if s in text}
    assert left == set(), f"{operator} left {left}"
    # untouched columns stay as they were
    assert [r["amount"] for r in read_csv(tmp_path / "out.csv")] == ["10.5", "20", "30"]


def test_report_says_what_changed(tmp_path: Path, people: Path) -> None:
    policy = AnonymizePolicy.from_dict({
        "entities": {"EMAIL": "fake", "CREDIT_CARD": {"op": "mask", "keep": 4}},
        "columns": {"id": "hash", "amount": {"op": "generalize", "step": 10},
                    "ip": "keep"}})
    result = anonymize_file(people, tmp_path / "out.csv", key=KEY, policy=policy)
    cols = {c.column: c for c in result.columns}
    assert dict(cols["email"].operators) == {"fake": 3}
    assert dict(cols["email"].entities) == {"EMAIL": 3}
    assert dict(cols["card"].operators) == {"mask": 2}
    assert cols["amount"].changed == 3
    rows = read_csv(tmp_path / "out.csv")
    assert [r["amount"] for r in rows] == ["10-19", "20-29", "30-39"]
    assert rows[0]["card"] == "**** **** **** 1111"
    assert rows[0]["ip"] == "192.168.10.77"  # kept by policy
    assert rows[0]["id"].startswith("ID_")
    assert json.dumps(result.to_dict())


def test_format_preserving_fakes_stay_valid(tmp_path: Path, people: Path) -> None:
    result = anonymize_file(people, tmp_path / "out.csv", key=KEY,
                            policy=AnonymizePolicy.from_dict({"default": "fake"}))
    assert result.verified
    rows = read_csv(tmp_path / "out.csv")
    for before, after in zip(PEOPLE[:2], rows[:2], strict=True):
        for col in ("card", "inn", "snils", "iban", "email", "phone"):
            assert after[col] != before[col]
        assert luhn_ok(after["card"].replace(" ", ""))
        assert len(after["card"]) == len(before["card"])
        assert inn_ok(after["inn"]) and len(after["inn"]) == len(before["inn"])
        assert snils_ok(after["snils"].replace("-", "").replace(" ", ""))
        assert iban_ok(after["iban"].replace(" ", ""))
        assert [m.entity for m in find_pii(after["email"])] == ["EMAIL"]
    # deterministic: the same key gives the same fakes
    anonymize_file(people, tmp_path / "again.csv", key=KEY,
                   policy=AnonymizePolicy.from_dict({"default": "fake"}))
    assert read_csv(tmp_path / "again.csv") == rows


@pytest.mark.parametrize("seed", range(40))
def test_fakes_pass_checksums_for_many_keys(seed: int) -> None:
    key = bytes([seed]) * 32
    assert luhn_ok(fake_value("2221000000000009", "CREDIT_CARD", key))
    assert inn_ok(fake_value("500100732259", "RU_INN", key))
    assert inn_ok(fake_value("7707083893", "RU_INN", key))
    assert snils_ok(fake_value("11223344595", "RU_SNILS", key))
    assert iban_ok(fake_value("DE89370400440532013000", "IBAN", key))


@pytest.mark.parametrize("suffix", ["csv", "tsv", "jsonl", "parquet"])
def test_encrypt_round_trips(tmp_path: Path, suffix: str) -> None:
    table = pa.table({k: [r[k] for r in PEOPLE] for k in PEOPLE[0]})
    table = table.append_column("count", pa.array([1, 2, 3], type=pa.int64()))
    src = tmp_path / f"in.{suffix}"
    if suffix == "parquet":
        pq.write_table(table, src)
    elif suffix == "jsonl":
        src.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n"
                               for r in table.to_pylist()), encoding="utf-8")
    else:
        import pyarrow.csv as pcsv

        pcsv.write_csv(table, src, pcsv.WriteOptions(delimiter="\t" if suffix == "tsv"
                                                     else ","))
    enc, back = tmp_path / f"enc.{suffix}", tmp_path / f"back.{suffix}"
    result = anonymize_file(src, enc, key=KEY,
                            policy=AnonymizePolicy.from_dict({"default": "encrypt"}))
    assert result.verified
    assert "john.smith@gmail.com" not in enc.read_bytes().decode("utf-8", "replace")
    restored = restore_file(enc, back, key=KEY)
    assert restored.restored >= 15
    from dozor.data.readers import open_table

    def rows(path: Path) -> list[dict[str, object]]:
        with open_table(path) as reader:
            return [r for b in reader.iter_batches() for r in b.to_pylist()]

    original, again = rows(src), rows(back)
    if suffix != "parquet":  # text formats: compare as text
        original = [{k: (None if v in ("", None) else str(v)) for k, v in r.items()}
                    for r in original]
        again = [{k: (None if v in ("", None) else str(v)) for k, v in r.items()}
                 for r in again]
    assert again == original
    with pytest.raises(ValueError, match="wrong key"):
        restore_file(enc, tmp_path / f"bad.{suffix}", key=OTHER_KEY)
    assert not (tmp_path / f"bad.{suffix}").exists()


def test_failure_midway_leaves_nothing_behind(tmp_path: Path, people: Path) -> None:
    target = tmp_path / "out.csv"
    target.write_text("old content\n")
    calls = {"n": 0}

    def detector(text: str, context: str = "") -> list[object]:
        calls["n"] += 1
        if calls["n"] > 5:
            raise KeyboardInterrupt  # Ctrl-C in the middle of the file
        return list(find_pii(text, context=context))

    with pytest.raises(KeyboardInterrupt):
        anonymize_file(people, target, key=KEY, detector=detector, rows_per_batch=1)
    assert target.read_text() == "old content\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.csv", "people.csv"]


def test_leak_found_by_rescan_blocks_the_output(tmp_path: Path, people: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    # a broken operator that passes values through, and no safety net: the re-scan
    # must catch it and the output must not be published
    monkeypatch.setattr(Operators, "apply", lambda self, spec, value, entity: value)
    monkeypatch.setattr(Anonymizer, "_ensure_gone", staticmethod(lambda out, spans: out))
    result = anonymize_file(people, tmp_path / "out.csv", key=KEY)
    assert result.verified is False and result.leaks > 5
    assert not (tmp_path / "out.csv").exists()
    assert [p.name for p in tmp_path.iterdir()] == ["people.csv"]


def test_parquet_integer_column_of_identifiers(tmp_path: Path) -> None:
    src = tmp_path / "ids.parquet"
    pq.write_table(pa.table({"inn": pa.array([7707083893, 500100732259, 42], pa.int64()),
                             "n": pa.array([1, 2, 3], pa.int64())}), src)
    result = anonymize_file(src, tmp_path / "out.parquet", key=KEY)
    assert result.verified
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("n").type == pa.int64()  # untouched column keeps its type
    values = out.column("inn").to_pylist()
    assert values[0].startswith("RU_INN_") and values[2] == "42"


def test_operators() -> None:
    assert mask("4111 1111 1111 1111") == "**** **** **** 1111"
    assert mask("ab") == "**"  # never more than a third of a value
    assert generalize("1985-03-14", "DATE_OF_BIRTH", {}) == "1985-03"
    assert generalize("14.03.1985", "DATE_OF_BIRTH", {"to": "year"}) == "1985"
    assert generalize("192.168.10.77", "IP_ADDRESS", {}) == "192.168.10.0/24"
    assert generalize("2001:db8::1", "IP_ADDRESS", {}) == "2001:db8::/48"
    assert generalize("37", None, {"step": 5}) == "35-39"
    assert generalize("94110", "ZIP", {}) == "941**"
    assert generalize("John", "PERSON", {}) == "<PERSON>"  # cannot generalise: redacted
    ops = Operators(KEY)
    token = ops.encrypt("секрет")
    assert token.startswith("dz1:") and ops.encrypt("секрет") == token  # deterministic
    assert ops.decrypt(token) == "секрет"
    assert ops.restore_text(f"a {token} b") == ("a секрет b", 1)
    assert ops.apply(OperatorSpec("redact"), "x@y.com", "EMAIL") == "<EMAIL>"


def test_policy_errors(tmp_path: Path) -> None:
    bad = tmp_path / "p.yaml"
    bad.write_text("entities:\n  EMAIL: scramble\n")
    with pytest.raises(PolicyError, match="unknown operator 'scramble'"):
        load_policy(bad)
    bad.write_text("colums: {}\n")
    with pytest.raises(PolicyError, match="unknown policy key"):
        load_policy(bad)
    bad.write_text("default: [\n")
    with pytest.raises(PolicyError, match="not valid YAML"):
        load_policy(bad)
    good = tmp_path / "g.yaml"
    good.write_text("default: redact\nentities:\n  email: {op: generalise}\n"
                    "columns:\n  id: keep\n")
    policy = load_policy(good)
    assert policy.for_entity("EMAIL").name == "generalize"
    assert policy.columns["id"].name == "keep"


def test_cli(tmp_path: Path, people: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("DOZOR_ANON_KEY", raising=False)
    runner = CliRunner()
    key = tmp_path / "anon.key"
    out = tmp_path / "out.csv"
    r = runner.invoke(app, ["anonymize", str(people), str(out)])
    assert r.exit_code == 2 and "no key" in r.output and "Traceback" not in r.output
    r = runner.invoke(app, ["anonymize", str(people), str(out), "-k", str(key),
                            "--create-key", "--report", str(tmp_path / "r.json")])
    assert r.exit_code == 0, r.output
    assert "verified" in r.output and out.exists()
    assert json.loads((tmp_path / "r.json").read_text())["verified"] is True
    assert (key.stat().st_mode & 0o077) == 0  # the key is private to its owner
    r = runner.invoke(app, ["anonymize", str(people), str(out), "-k", str(key),
                            "--create-key"])
    assert r.exit_code == 2 and "already exists" in r.output
    monkeypatch.setenv("DOZOR_ANON_KEY", key.read_text().strip())
    r = runner.invoke(app, ["anonymize", str(people), str(tmp_path / "o2.csv")])
    assert r.exit_code == 0
    assert read_csv(tmp_path / "o2.csv") == read_csv(out)  # env key == file key
    r = runner.invoke(app, ["anonymize", str(people), str(people)])
    assert r.exit_code == 2 and "same file" in r.output
    r = runner.invoke(app, ["anonymize", str(tmp_path / "none.csv"), str(out)])
    assert r.exit_code == 2 and r.output.count("\n") == 1
    redact = tmp_path / "redact.yaml"
    redact.write_text("default: redact\n")
    monkeypatch.delenv("DOZOR_ANON_KEY", raising=False)
    r = runner.invoke(app, ["anonymize", str(people), str(tmp_path / "r.csv"), "-p",
                            str(redact)])
    assert r.exit_code == 0, r.output  # redact needs no key
    assert "<EMAIL>" in (tmp_path / "r.csv").read_text()
    monkeypatch.setenv("DOZOR_ANON_KEY", key.read_text().strip())
    bad = tmp_path / "p.yaml"
    bad.write_text("default: nope\n")
    r = runner.invoke(app, ["anonymize", str(people), str(out), "-p", str(bad)])
    assert r.exit_code == 2 and "unknown operator" in r.output
    # reverse with encrypt
    enc_policy = tmp_path / "enc.yaml"
    enc_policy.write_text("default: encrypt\n")
    enc, back = tmp_path / "enc.csv", tmp_path / "back.csv"
    assert runner.invoke(app, ["anonymize", str(people), str(enc), "-p",
                               str(enc_policy)]).exit_code == 0
    r = runner.invoke(app, ["anonymize", str(enc), str(back), "--reverse"])
    assert r.exit_code == 0, r.output
    assert read_csv(back) == PEOPLE
    monkeypatch.setenv("DOZOR_ANON_KEY", "00" * 32)
    r = runner.invoke(app, ["anonymize", str(enc), str(back), "--reverse"])
    assert r.exit_code == 2 and "wrong key" in r.output


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(max_size=60), min_size=1, max_size=8))
def test_fuzz_values_never_raise_and_never_leak(values: list[str]) -> None:
    anonymizer = Anonymizer(AnonymizePolicy(), KEY)
    for v in values:
        out = anonymizer.transform(v, "notes")
        for m in find_pii(v, context="notes"):
            if len(m.text.strip()) >= 3:
                assert m.text not in out


def test_plain_text_file(tmp_path: Path) -> None:
    src = tmp_path / "notes.txt"
    src.write_text("first line, nothing here\nmail john.smith@gmail.com today\n\nlast\n",
                   encoding="utf-8")
    result = anonymize_file(src, tmp_path / "out.txt", key=KEY,
                            policy=AnonymizePolicy.from_dict({"default": "redact"}))
    assert result.verified
    assert (tmp_path / "out.txt").read_text(encoding="utf-8").splitlines() == [
        "first line, nothing here", "mail <EMAIL> today", "", "last"]
    r = CliRunner().invoke(app, ["anonymize", str(tmp_path), str(tmp_path / "x.txt"),
                                 "-k", str(tmp_path / "k"), "--create-key"])
    assert r.exit_code == 2 and "folder" in r.output


def test_policy_rejects_unknown_entities() -> None:
    with pytest.raises(PolicyError, match="unknown entity type 'EMAL'"):
        AnonymizePolicy.from_dict({"entities": {"EMAL": "fake"}})
    with pytest.raises(PolicyError, match="detect.entities"):
        AnonymizePolicy.from_dict({"detect": {"entities": ["PHONE", "NOPE"]}})


policy_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["op", "keep", "step", "to", "default", "EMAIL", "x", "entities"]),
        inner, max_size=3), max_leaves=15)


@settings(max_examples=80, deadline=None)
@given(st.dictionaries(st.sampled_from(["default", "entities", "columns", "detect", "y"]),
                       policy_values, max_size=4))
def test_fuzz_policy_parses_or_says_why(data: dict[str, object]) -> None:
    try:
        policy = AnonymizePolicy.from_dict(data)
    except PolicyError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    anonymizer = Anonymizer(policy, KEY)
    for value in ("john.smith@gmail.com", "1985-03-14", "37", "hello", "192.168.1.1"):
        anonymizer.transform(value, "email")  # a valid policy never fails mid-file


def test_cli_random_bytes_give_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "rand.parquet"
    bad.write_bytes(b"PAR1" + bytes(range(256)) * 20)
    r = CliRunner().invoke(app, ["anonymize", str(bad), str(tmp_path / "o.parquet"), "-k",
                                 str(tmp_path / "k"), "--create-key"])
    assert r.exit_code == 2 and "Traceback" not in r.output
    assert not (tmp_path / "o.parquet").exists()


def test_nested_parquet_values_are_scanned(tmp_path: Path) -> None:
    src = tmp_path / "nested.parquet"
    pq.write_table(pa.table({
        "contacts": [["john.smith@gmail.com", "x"], None, ["nobody"]],
        "meta": [{"ip": "192.168.10.77"}, {"ip": "none"}, None]}), src)
    result = anonymize_file(src, tmp_path / "out.parquet", key=KEY)
    assert result.verified
    out = pq.read_table(tmp_path / "out.parquet").to_pylist()
    assert "john.smith@gmail.com" not in json.dumps(out)
    assert "192.168.10.77" not in json.dumps(out)
    assert json.loads(out[0]["contacts"])[1] == "x"


def test_integer_column_that_gets_pseudonyms_late_is_emptied_not_leaked(tmp_path: Path) -> None:
    src = tmp_path / "late.parquet"
    pq.write_table(pa.table({"ref": pa.array([1, 2, 7707083893], pa.int64())}), src)
    result = anonymize_file(src, tmp_path / "out.parquet", key=KEY, rows_per_batch=1)
    assert result.verified
    (col,) = result.columns
    assert col.nulled == 1
    out = pq.read_table(tmp_path / "out.parquet")
    assert out.schema.field("ref").type == pa.int64()
    assert out.column("ref").to_pylist() == [1, 2, None]


def test_policy_entity_makes_two_tables_agree(tmp_path: Path) -> None:
    a = write_csv(tmp_path / "a.csv", [{"phone": "+7 912 345-67-89"}])
    b = write_csv(tmp_path / "b.csv", [{"ref": "+7 912 345-67-89"}])
    anonymize_file(a, tmp_path / "a.out.csv", key=KEY)
    anonymize_file(b, tmp_path / "b.out.csv", key=KEY, policy=AnonymizePolicy.from_dict(
        {"columns": {"ref": {"op": "hash", "entity": "PHONE"}}}))
    left = read_csv(tmp_path / "a.out.csv")[0]["phone"]
    assert left.startswith("PHONE_") and read_csv(tmp_path / "b.out.csv")[0]["ref"] == left


def test_header_only_table_keeps_its_header(tmp_path: Path) -> None:
    src = tmp_path / "empty.csv"
    src.write_text("email,n\n")
    result = anonymize_file(src, tmp_path / "out.csv", key=KEY)
    assert result.rows == 0 and result.verified
    assert (tmp_path / "out.csv").read_text().replace('"', "") == "email,n\n"
