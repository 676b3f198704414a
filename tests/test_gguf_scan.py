"""GGUF scanner: hand-built headers (struct only), plus real files when `gguf` is installed."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import Blob, ScanContext
from dozor.scan.models.gguf import GGML_TYPES, MAX_TENSORS, parse_header, scan_gguf

STRING, ARRAY, U8, U32, I32, F32, BOOL, U64 = 8, 9, 0, 4, 5, 6, 7, 10
_FMT = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}

CHATML = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\\n' + "
    "message['content'] + '<|im_end|>' + '\\n'}}{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)
EVIL = "{{ cycler.__init__.__globals__.os.popen('id').read() }}"


class Writer:
    """A minimal GGUF writer for tests: versions 1-3, either byte order."""

    def __init__(self, version: int = 3, endian: str = "<") -> None:
        self.version = version
        self.e = endian

    def count(self, n: int) -> bytes:
        return struct.pack(self.e + ("I" if self.version == 1 else "Q"), n)

    def string(self, text: str | bytes) -> bytes:
        raw = text.encode() if isinstance(text, str) else text
        return self.count(len(raw)) + raw

    def value(self, vtype: int, value: object) -> bytes:
        if vtype == STRING:
            assert isinstance(value, (str, bytes))
            return self.string(value)
        if vtype == ARRAY:
            etype, items = value  # type: ignore[misc]
            body = b"".join(self.value(etype, item) for item in items)
            return struct.pack(self.e + "I", etype) + self.count(len(items)) + body
        return struct.pack(self.e + _FMT[vtype], value)

    def build(
        self,
        kvs: list[tuple[str, int, object]] = (),  # type: ignore[assignment]
        tensors: list[tuple[str, tuple[int, ...], int, int]] = (),  # type: ignore[assignment]
        *,
        data: bytes | None = None,
        alignment: int = 32,
    ) -> bytes:
        out = bytearray(b"GGUF" + struct.pack(self.e + "I", self.version))
        out += self.count(len(tensors)) + self.count(len(kvs))
        for key, vtype, value in kvs:
            out += self.string(key) + struct.pack(self.e + "I", vtype) + self.value(vtype, value)
        for name, dims, ggml_type, offset in tensors:
            out += self.string(name) + struct.pack(self.e + "I", len(dims))
            out += b"".join(self.count(d) for d in dims)
            out += struct.pack(self.e + "IQ", ggml_type, offset)
        out += b"\0" * (-len(out) % alignment)
        if data is None:
            end = 0
            for _name, dims, ggml_type, offset in tensors:
                _, block, size = GGML_TYPES[ggml_type]
                n = 1
                for d in dims:
                    n *= d
                end = max(end, offset + n // block * size)
            data = b"\1" * end
        return bytes(out + data)


def scan(data: bytes) -> list[Finding]:
    return list(scan_gguf(Blob(data, Location("m.gguf")), ScanContext()))


def rules(findings: list[Finding]) -> dict[str, Severity]:
    out: dict[str, Severity] = {}
    for f in findings:
        out[f.rule_id] = max(out.get(f.rule_id, f.severity), f.severity)
    return out


def benign_kvs(template: str = CHATML) -> list[tuple[str, int, object]]:
    return [
        ("general.architecture", STRING, "llama"),
        ("general.name", STRING, "tiny"),
        ("llama.context_length", U32, 2048),
        ("llama.rope.freq_base", F32, 10000.0),
        ("tokenizer.ggml.add_bos_token", BOOL, True),
        ("tokenizer.ggml.tokens", ARRAY, (STRING, ["<s>", "</s>", "hello", "wörld"])),
        ("tokenizer.ggml.scores", ARRAY, (F32, [0.0, 0.0, -1.5, -2.5])),
        ("tokenizer.ggml.token_type", ARRAY, (I32, [3, 3, 1, 1])),
        ("tokenizer.chat_template", STRING, template),
        ("general.size_label", U64, 7),
    ]


BENIGN_TENSORS = [
    ("token_embd.weight", (64, 4), 0, 0),  # F32: 1024 bytes
    ("blk.0.attn_q.weight", (32, 2), 8, 1024),  # Q8_0: 2 blocks x 34 = 68 bytes
    ("blk.0.ffn.weight", (256, 1), 12, 1120),  # Q4_K: 144 bytes
    ("output_norm.weight", (5,), 1, 1280),  # F16: 10 bytes
]


@pytest.mark.parametrize(("version", "endian"), [(3, "<"), (3, ">"), (2, "<"), (1, "<")])
def test_benign_file_has_no_findings(version: int, endian: str) -> None:
    data = Writer(version, endian).build(benign_kvs(), BENIGN_TENSORS)
    assert scan(data) == []
    header = parse_header(data, ScanContext())
    assert header.version == version and header.big_endian == (endian == ">")
    assert [t.name for t in header.tensors][0] == "token_embd.weight"
    assert header.templates[0][1] == CHATML


def test_native_big_endian_magic_is_accepted() -> None:
    data = bytearray(Writer(3, ">").build(benign_kvs(EVIL), BENIGN_TENSORS))
    data[:4] = b"FUGG"
    assert rules(scan(bytes(data))) == {"DZ-GGUF-001": Severity.CRITICAL}


def test_registry_names_resolve() -> None:
    from dozor.scan import registry

    assert registry.handler("gguf") is scan_gguf
    assert registry.handler("tokenizer-config").__name__ == "scan_tokenizer_config"


def test_nested_arrays_and_every_value_type_parse() -> None:
    kvs = [
        ("a.nested", ARRAY, (ARRAY, [(U8, [1, 2]), (STRING, ["x", "y"]), (ARRAY, [(I32, [1])])])),
        ("a.i8", 1, -1),
        ("a.u16", 2, 1),
        ("a.i16", 3, -1),
        ("a.i64", 11, -5),
        ("a.f64", 12, 1.5),
        ("a.empty", ARRAY, (STRING, [])),
    ]
    assert scan(Writer().build(kvs)) == []


def test_malicious_template_is_critical() -> None:
    findings = scan(Writer().build(benign_kvs(EVIL), BENIGN_TENSORS))
    crit = [f for f in findings if f.rule_id == "DZ-GGUF-001"]
    assert crit and crit[0].severity == Severity.CRITICAL
    assert crit[0].location.members == ("tokenizer.chat_template",)
    assert crit[0].location.line == 1
    assert "__globals__" in crit[0].evidence or "popen" in crit[0].evidence
    assert crit[0].scanner == "gguf"


def test_named_template_keys_are_checked() -> None:
    kvs = [
        ("tokenizer.chat_template", STRING, CHATML),
        ("tokenizer.chat_template.tool_use", STRING, "{{ x|attr('__glo' ~ 'bals__') }}"),
        ("tokenizer.chat_templates", ARRAY, (STRING, ["tool_use"])),
    ]
    found = scan(Writer().build(kvs))
    assert [(f.rule_id, f.location.members) for f in found] == [
        ("DZ-GGUF-001", ("tokenizer.chat_template.tool_use",))
    ]


def test_template_in_big_endian_v1_file_is_found() -> None:
    data = Writer(1, ">").build([("tokenizer.chat_template", STRING, EVIL)])
    assert rules(scan(data)).get("DZ-GGUF-001") == Severity.CRITICAL


def test_unparseable_template_is_medium_with_regex_fallback() -> None:
    data = Writer().build([("tokenizer.chat_template", STRING, "{% if x %}{{ y.__class__ }")])
    assert rules(scan(data)) == {"DZ-GGUF-002": Severity.MEDIUM, "DZ-GGUF-005": Severity.HIGH}
    plain = Writer().build([("tokenizer.chat_template", STRING, "{% for m in messages %}")])
    assert rules(scan(plain)) == {"DZ-GGUF-002": Severity.MEDIUM}


def test_suspicious_and_loader_templates() -> None:
    sus = Writer().build([("tokenizer.chat_template", STRING, "{{ config.items() }}")])
    assert rules(scan(sus)) == {"DZ-GGUF-005": Severity.HIGH}
    inc = Writer().build([("tokenizer.chat_template", STRING, "{% include 'x' %}")])
    assert rules(scan(inc)) == {"DZ-GGUF-006": Severity.MEDIUM}


def test_non_utf8_template_is_still_analysed() -> None:
    raw = b"\xff\xfe" + EVIL.encode()
    data = Writer().build([("tokenizer.chat_template", STRING, raw)])
    assert "DZ-GGUF-001" in rules(scan(data))


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"GGU",
        b"GGML" + b"\0" * 20,
        b"GGUF" + struct.pack("<I", 4) + b"\0" * 16,
        b"GGUF" + struct.pack("<I", 0) + b"\0" * 16,
        b"GGUF" + struct.pack("<I", 3),
    ],
)
def test_bad_magic_version_or_truncation_is_malformed(data: bytes) -> None:
    assert rules(scan(data)) == {"DZ-GGUF-003": Severity.MEDIUM}


def test_every_truncation_of_a_valid_file_is_handled() -> None:
    data = Writer().build(benign_kvs(), BENIGN_TENSORS)
    surely_in_header = parse_header(data, ScanContext()).data_start - 31
    for cut in range(0, len(data)):
        found = rules(scan(data[:cut]))
        if cut < surely_in_header:
            assert "DZ-GGUF-003" in found, cut
        else:  # near or past the header end: either the header or tensor data is cut
            assert found in ({"DZ-GGUF-003": Severity.MEDIUM}, {"DZ-GGUF-004": Severity.HIGH})


def test_limits_are_enforced() -> None:
    w = Writer()
    too_many = b"GGUF" + struct.pack("<IQQ", 3, MAX_TENSORS + 1, 0)
    assert rules(scan(too_many)) == {"DZ-GGUF-003": Severity.MEDIUM}
    # a string claiming 2**63 bytes
    huge = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + struct.pack("<Q", 1 << 63) + b"k"
    assert rules(scan(huge)) == {"DZ-GGUF-003": Severity.MEDIUM}
    # an array claiming 2**40 elements
    arr = (
        b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + w.string("k") + struct.pack("<IIQ", 9, 0, 1 << 40)
    )
    assert "DZ-GGUF-003" in rules(scan(arr))
    # arrays nested 20 deep
    value: object = (U8, [1])
    for _ in range(20):
        value = (ARRAY, [value])
    deep = w.build([("deep", ARRAY, value)])
    found = scan(deep)
    assert any("nested" in f.evidence for f in found)
    # unknown value type
    odd = b"GGUF" + struct.pack("<IQQ", 3, 0, 1) + w.string("k") + struct.pack("<I", 99) + b"\0" * 8
    assert "unknown value type" in scan(odd)[0].evidence
    # a tensor with 9 dimensions
    many_dims = w.build([], [("t", (1,) * 9, 0, 0)], data=b"")
    assert "dimensions" in scan(many_dims)[0].evidence


def test_duplicate_keys_and_tensor_names_are_malformed() -> None:
    kvs = [("general.name", STRING, "a"), ("general.name", STRING, "b")]
    tensors = [("t", (8,), 0, 0), ("t", (8,), 0, 32)]
    found = scan(Writer().build(kvs, tensors))
    evidence = " ".join(f.evidence for f in found if f.rule_id == "DZ-GGUF-003")
    assert "duplicate metadata key" in evidence and "duplicate tensor name" in evidence


def test_tensor_past_end_of_file_is_high() -> None:
    data = Writer().build([], [("big", (1024, 1024), 0, 0)], data=b"\0" * 64)
    found = [f for f in scan(data) if f.rule_id == "DZ-GGUF-004"]
    assert found and found[0].severity == Severity.HIGH and "past the end" in found[0].title


def test_unknown_type_offset_past_end_is_high_but_inside_is_fine() -> None:
    inside = Writer().build([], [("x", (8,), 77, 0)], data=b"\0" * 64)
    assert scan(inside) == []
    outside = Writer().build([], [("x", (8,), 77, 1 << 40)], data=b"\0" * 64)
    assert rules(scan(outside)) == {"DZ-GGUF-004": Severity.HIGH}


def test_overlapping_tensors_are_high() -> None:
    tensors = [("a", (64,), 0, 0), ("b", (64,), 0, 128)]  # a covers [0, 256)
    found = [f for f in scan(Writer().build([], tensors)) if f.rule_id == "DZ-GGUF-004"]
    assert found and "overlap" in found[0].title


def test_misaligned_offset_and_ragged_blocks_are_malformed() -> None:
    mis = Writer().build([], [("a", (4,), 0, 0), ("b", (4,), 0, 20)], data=b"\0" * 64)
    assert rules(scan(mis)) == {"DZ-GGUF-003": Severity.MEDIUM}
    ragged = Writer().build([], [("q", (33,), 8, 0)], data=b"\0" * 64)
    assert rules(scan(ragged)) == {"DZ-GGUF-003": Severity.MEDIUM}


def test_custom_alignment_is_honoured_and_bad_alignment_reported() -> None:
    kvs = [("general.alignment", U32, 64)]
    tensors = [("a", (4,), 0, 0), ("b", (4,), 0, 64)]
    assert scan(Writer().build(kvs, tensors, alignment=64)) == []
    bad = Writer().build([("general.alignment", U32, 48)])
    assert "power of two" in scan(bad)[0].evidence
    wrong_type = Writer().build([("general.alignment", STRING, "32")])
    assert "not uint32" in scan(wrong_type)[0].evidence


def test_ggml_type_table_matches_the_gguf_package() -> None:
    gguf = pytest.importorskip("gguf")
    sizes = gguf.constants.GGML_QUANT_SIZES
    for type_id, (name, block, size) in GGML_TYPES.items():
        qtype = gguf.constants.GGMLQuantizationType(type_id)
        assert qtype.name == name
        assert sizes[qtype] == (block, size), name


def _real_file(tmp_path: Path, template: str, big_endian: bool = False) -> bytes:
    gguf = pytest.importorskip("gguf")
    np = pytest.importorskip("numpy")
    path = tmp_path / "real.gguf"
    endian = gguf.GGUFEndian.BIG if big_endian else gguf.GGUFEndian.LITTLE
    w = gguf.GGUFWriter(str(path), "llama", endianess=endian)
    w.add_name("tiny")
    w.add_context_length(128)
    w.add_chat_template(template)
    w.add_token_list([f"tok{i}" for i in range(1000)])
    w.add_token_scores([0.0] * 1000)
    w.add_array("test.nested", [[1, 2], [3, 4]])
    w.add_tensor("a", np.zeros((4, 64), dtype=np.float32))
    w.add_tensor("b", np.zeros((3, 5), dtype=np.float16))
    q8 = np.zeros((2, 34), dtype=np.uint8)
    w.add_tensor("q", q8, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return path.read_bytes()


@pytest.mark.parametrize("big_endian", [False, True])
def test_real_gguf_writer_output_is_clean(tmp_path: Path, big_endian: bool) -> None:
    data = _real_file(tmp_path, CHATML, big_endian)
    assert [f for f in scan(data) if f.severity >= Severity.MEDIUM] == []


def test_real_gguf_writer_with_evil_template(tmp_path: Path) -> None:
    data = _real_file(tmp_path, EVIL)
    assert rules(scan(data)).get("DZ-GGUF-001") == Severity.CRITICAL
