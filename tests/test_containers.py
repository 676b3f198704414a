"""Zip, tar, 7z and compressed containers: differentials are findings, every copy scanned."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import os
import pickle
import struct
import tarfile
import zipfile
import zlib

import pytest

from dozor.findings import Severity
from tests.conftest import rules, scan_bytes, worst


class Payload:
    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):  # type: ignore[no-untyped-def]
        return (os.system, (f"touch {self.marker}",))


def evil(marker: str) -> bytes:
    return pickle.dumps({"w": Payload(marker)}, protocol=2)


GOOD = pickle.dumps({"weight": [0.5] * 10}, protocol=2)


def make_zip(members: list[tuple[str, bytes]], compress: int = zipfile.ZIP_STORED) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compress) as z:
        for name, data in members:
            z.writestr(name, data)
    return buf.getvalue()


def test_torch_layout_scans_every_pickle_member(marker) -> None:  # type: ignore[no-untyped-def]
    data = make_zip([("archive/data.pkl", GOOD), ("archive/extra.pkl", evil(marker())),
                     ("archive/data/0", b"\x80\x02" + b"\x00" * 64), ("archive/version", b"3\n")])
    found = scan_bytes(data, "model.pt")
    assert "DZ-PKL-001" in rules(found)
    assert all("archive/data/0" not in f.location.members for f in found)


def test_clean_torch_layout_is_clean() -> None:
    data = make_zip([("archive/data.pkl", GOOD), ("archive/data/0", os.urandom(4096)),
                     ("archive/version", b"3\n"), ("archive/byteorder", b"little")])
    assert worst(scan_bytes(data, "model.pt")) < Severity.MEDIUM


@pytest.mark.parametrize("first_evil", [True, False])
def test_duplicate_member_every_copy_scanned(first_evil: bool, marker) -> None:  # type: ignore[no-untyped-def]
    bad = evil(marker())
    members = [("archive/data.pkl", bad), ("archive/data.pkl", GOOD)]
    if not first_evil:
        members.reverse()
    buf = io.BytesIO()
    with pytest.warns(UserWarning):
        with zipfile.ZipFile(buf, "w") as z:
            for name, d in members:
                z.writestr(name, d)
    found = scan_bytes(buf.getvalue())
    assert {"DZ-ARC-004", "DZ-PKL-001"} <= rules(found)


def test_names_colliding_after_normalisation() -> None:
    found = scan_bytes(make_zip([("archive/data.pkl", GOOD), ("archive/./data.pkl", GOOD)]))
    assert "DZ-ARC-004" in rules(found)
    found = scan_bytes(make_zip([("Model.pkl", GOOD), ("model.pkl", GOOD)]))
    assert "DZ-ARC-004" in rules(found)


def _patch_central(data: bytes, field_offset: int, fmt: str, value: int) -> bytes:
    cd = data.rfind(b"PK\x01\x02")
    out = bytearray(data)
    struct.pack_into(fmt, out, cd + field_offset, value)
    return bytes(out)


def test_bad_crc_is_reported_and_member_still_scanned(marker) -> None:  # type: ignore[no-untyped-def]
    data = make_zip([("a.pkl", evil(marker()))])
    data = _patch_central(data, 16, "<I", 0xDEADBEEF)
    lfh = data.find(b"PK\x03\x04")
    data = data[: lfh + 14] + struct.pack("<I", 0xDEADBEEF) + data[lfh + 18 :]
    found = scan_bytes(data)
    assert {"DZ-ARC-005", "DZ-PKL-001"} <= rules(found)


def test_encryption_flag_is_reported_and_member_still_scanned(marker) -> None:  # type: ignore[no-untyped-def]
    data = make_zip([("a.pkl", evil(marker()))])
    data = _patch_central(data, 8, "<H", 1)
    lfh = data.find(b"PK\x03\x04")
    data = data[: lfh + 6] + struct.pack("<H", 1) + data[lfh + 8 :]
    found = scan_bytes(data)
    assert {"DZ-ARC-011", "DZ-PKL-001"} <= rules(found)


def test_member_hidden_from_central_directory(marker) -> None:  # type: ignore[no-untyped-def]
    hidden = make_zip([("evil.pkl", evil(marker()))])
    visible = make_zip([("ok.pkl", GOOD)])
    # prepend the hidden archive's local entry (without its directory) to a clean zip
    local = hidden[: hidden.find(b"PK\x01\x02")]
    data = local + visible
    found = scan_bytes(data)
    assert "DZ-PKL-001" in rules(found)


def test_path_traversal_symlink_and_nesting(marker) -> None:  # type: ignore[no-untyped-def]
    inner = make_zip([("deep/model.pkl", evil(marker()))])
    middle = make_zip([("inner.zip", inner)])
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("../../evil.pkl", GOOD)
        link = zipfile.ZipInfo("link")
        link.create_system = 3
        link.external_attr = (0o120777 << 16)
        z.writestr(link, "/etc/passwd")
        z.writestr("middle.zip", middle)
    found = scan_bytes(buf.getvalue())
    assert {"DZ-ARC-001", "DZ-ARC-002", "DZ-PKL-001"} <= rules(found)
    deep = [f for f in found if f.rule_id == "DZ-PKL-001"][0]
    assert deep.location.members[:3] == ("middle.zip", "inner.zip", "deep/model.pkl")


def test_zip_bomb_is_not_inflated() -> None:
    data = make_zip([("big.bin", b"\x00" * (64 << 20))], zipfile.ZIP_DEFLATED)
    found = scan_bytes(data)
    assert "DZ-ARC-003" in rules(found)


def test_corrupt_member_is_a_finding_not_silence(marker) -> None:  # type: ignore[no-untyped-def]
    data = bytearray(make_zip([("a.txt", b"hello world " * 100), ("b.pkl", evil(marker()))],
                              zipfile.ZIP_DEFLATED))
    start = data.find(b"a.txt") + 5
    data[start : start + 20] = b"\xff" * 20
    found = scan_bytes(bytes(data))
    assert {"DZ-ARC-007", "DZ-PKL-001"} <= rules(found)


def test_raw_pickle_renamed_is_sniffed(marker) -> None:  # type: ignore[no-untyped-def]
    for name in ("weights.bin", "notes.txt", "model"):
        assert "DZ-PKL-001" in rules(scan_bytes(evil(marker()), name))


@pytest.mark.parametrize("pack", [
    gzip.compress, bz2.compress, lzma.compress, zlib.compress,
    lambda d: lzma.compress(d, format=lzma.FORMAT_ALONE),
])
def test_compressed_streams(pack, marker) -> None:  # type: ignore[no-untyped-def]
    assert "DZ-PKL-001" in rules(scan_bytes(pack(evil(marker()))))
    assert worst(scan_bytes(pack(GOOD))) < Severity.MEDIUM


def test_truncated_gzip_still_scans_prefix(marker) -> None:  # type: ignore[no-untyped-def]
    data = gzip.compress(evil(marker()) + os.urandom(20000))
    found = scan_bytes(data[: len(data) // 2])
    assert "DZ-PKL-001" in rules(found)
    assert "DZ-ARC-007" in rules(found)


def _tar(members: list[tuple[str, bytes]], links: list[tuple[str, str]] = ()) -> bytes:  # type: ignore[assignment]
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as t:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size = len(data)
            t.addfile(info, io.BytesIO(data))
        for name, target in links:
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            t.addfile(info)
    return buf.getvalue()


def test_tar_members_traversal_and_links(marker) -> None:  # type: ignore[no-untyped-def]
    data = _tar([("/abs/model.pkl", GOOD), ("ok/model.pkl", evil(marker()))],
                [("ok/link", "/etc/shadow")])
    found = scan_bytes(data)
    assert {"DZ-ARC-001", "DZ-ARC-002", "DZ-PKL-001"} <= rules(found)
    found = scan_bytes(gzip.compress(data))
    assert "DZ-PKL-001" in rules(found)


def test_legacy_torch_tar(marker) -> None:  # type: ignore[no-untyped-def]
    data = _tar([("sys_info", pickle.dumps({"little_endian": True}, protocol=2)),
                 ("pickle", evil(marker())), ("storages", pickle.dumps(0, protocol=2)),
                 ("tensors", pickle.dumps(0, protocol=2))])
    assert "DZ-PKL-001" in rules(scan_bytes(data))


def test_7z_wrapped_checkpoint(tmp_path, marker) -> None:  # type: ignore[no-untyped-def]
    py7zr = pytest.importorskip("py7zr")
    inner = make_zip([("archive/data.pkl", evil(marker()))])
    (tmp_path / "model.pt").write_bytes(inner)
    target = tmp_path / "model.7z"
    with py7zr.SevenZipFile(target, "w") as z:
        z.write(tmp_path / "model.pt", "model.pt")
    found = scan_bytes(target.read_bytes())
    assert "DZ-PKL-001" in rules(found)


@pytest.mark.parametrize("cut", [10, 100, 0.5, 0.9])
def test_truncated_archives_never_raise(cut: float, marker) -> None:  # type: ignore[no-untyped-def]
    data = make_zip([("a.pkl", evil(marker())), ("b.pkl", GOOD)], zipfile.ZIP_DEFLATED)
    n = int(cut * len(data)) if cut < 1 else int(cut)
    scan_bytes(data[:n])
    scan_bytes(_tar([("a.pkl", GOOD)])[:n])


def test_template_files_are_routed_by_name(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import dozor

    (tmp_path / "chat_template.jinja").write_text(
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}")
    (tmp_path / "tokenizer_config.json").write_text(
        '{"chat_template": "{% for m in messages %}{{ m.content }}{% endfor %}"}')
    report = dozor.scan(tmp_path, workers=1)
    assert {f.rule_id for f in report.findings} == {"DZ-TPL-001"}


def _storage_record(key: str, storage: str) -> bytes:
    return (b"\x80\x02(X" + len(key).to_bytes(4, "little") + key.encode() + b"X\x03\x00\x00\x00cpu"
            + b"ctorch\n" + storage.encode() + b"\nt.")


def test_legacy_torch_storages_records(marker) -> None:  # type: ignore[no-untyped-def]
    raw = struct.pack("<q", 4) + b"\x00" * 16
    clean = (pickle.dumps(2, protocol=2) + _storage_record("0", "FloatStorage") + raw
             + _storage_record("1", "FloatStorage") + raw + pickle.dumps([], protocol=2))
    members = [("sys_info", pickle.dumps({}, protocol=2)), ("pickle", GOOD),
               ("tensors", pickle.dumps(0, protocol=2))]
    assert worst(scan_bytes(_tar([*members, ("storages", clean)]))) < Severity.MEDIUM
    dirty = (pickle.dumps(2, protocol=2) + _storage_record("0", "FloatStorage") + raw
             + evil(marker()))
    found = scan_bytes(_tar([*members, ("storages", dirty)]))
    assert "DZ-PKL-001" in rules(found)
