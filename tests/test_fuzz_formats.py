"""Bounded fuzzing: random and mutated GGUF, safetensors, .npy and template inputs.

The handlers parse hostile bytes; whatever they are given they must return findings,
never raise, and finish quickly. Seeds are valid files built here, mutated by byte
edits, truncation, insertion and integer-field clobbering.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Callable, Iterator

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from dozor.findings import Finding, Location
from dozor.scan.base import Blob, ScanContext
from dozor.scan.models.gguf import scan_gguf
from dozor.scan.models.jinja_template import analyze_template
from dozor.scan.models.numpy_scan import scan_npy
from dozor.scan.models.safetensors import scan_safetensors
from dozor.scan.models.tokenizer_config import scan_tokenizer_config

FUZZ = settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


def _s(text: str) -> bytes:
    raw = text.encode()
    return struct.pack("<Q", len(raw)) + raw


def _gguf_seed() -> bytes:
    out = bytearray(b"GGUF" + struct.pack("<IQQ", 3, 2, 4))
    out += _s("general.architecture") + struct.pack("<I", 8) + _s("llama")
    out += _s("general.alignment") + struct.pack("<II", 4, 32)
    out += _s("tokenizer.ggml.tokens") + struct.pack("<IIQ", 9, 8, 3)
    out += _s("a") + _s("b") + _s("c")
    tpl = "{% for m in messages %}{{ m['role'] }}{{ x|attr('__cla' ~ 'ss__') }}{% endfor %}"
    out += _s("tokenizer.chat_template") + struct.pack("<I", 8) + _s(tpl)
    out += _s("w") + struct.pack("<IQQIQ", 2, 4, 2, 0, 0)
    out += _s("q") + struct.pack("<IQIQ", 1, 32, 8, 32)
    out += b"\0" * (-len(out) % 32)
    return bytes(out + b"\1" * 66)


def _safetensors_seed() -> bytes:
    header = {
        "__metadata__": {"format": "pt"},
        "a": {"dtype": "F32", "shape": [2, 2], "data_offsets": [0, 16]},
        "b": {"dtype": "F4", "shape": [4], "data_offsets": [16, 18]},
    }
    raw = json.dumps(header).encode()
    raw += b" " * (-len(raw) % 8)
    return struct.pack("<Q", len(raw)) + raw + b"\0" * 18


def _npy_seed(descr: str, data: bytes) -> bytes:
    header = f"{{'descr': {descr}, 'fortran_order': False, 'shape': (2,), }}".encode()
    header += b" " * (-(len(header) + 11) % 64) + b"\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header + data


SEEDS = {
    "gguf": _gguf_seed(),
    "safetensors": _safetensors_seed(),
    "npy": _npy_seed("'<f8'", b"\0" * 16),
    "npy-object": _npy_seed("[('a', '|O')]", b"\x80\x04N."),
}


def _dispatch(blob: Blob, ctx: ScanContext, kind: str | None) -> Iterator[Finding]:
    assert kind == "pickle"
    return iter(())


def _run(handler: Callable[[Blob, ScanContext], Iterator[Finding]], data: bytes) -> None:
    ctx = ScanContext(dispatch=_dispatch)
    for f in handler(Blob(data, Location("fuzz")), ctx):
        assert isinstance(f, Finding)


HANDLERS = {
    "gguf": scan_gguf,
    "safetensors": scan_safetensors,
    "npy": scan_npy,
    "npy-object": scan_npy,
}


@st.composite
def mutated(draw: st.DrawFn) -> tuple[str, bytes]:
    name = draw(st.sampled_from(sorted(SEEDS)))
    data = bytearray(SEEDS[name])
    for _ in range(draw(st.integers(0, 6))):
        op = draw(st.sampled_from(["flip", "cut", "insert", "int"]))
        pos = draw(st.integers(0, max(len(data) - 1, 0)))
        if op == "flip" and data:
            data[pos] = draw(st.integers(0, 255))
        elif op == "cut":
            del data[pos:]
        elif op == "insert":
            data[pos:pos] = draw(st.binary(max_size=16))
        elif op == "int" and pos + 8 <= len(data):
            value = draw(st.sampled_from([0, 1, 2**31, 2**32 - 1, 2**63, 2**64 - 1, 7, 10**9]))
            data[pos : pos + 8] = struct.pack("<Q", value)
    return name, bytes(data)


@FUZZ
@given(mutated())
def test_mutated_files_never_raise(case: tuple[str, bytes]) -> None:
    name, data = case
    _run(HANDLERS[name], data)


@FUZZ
@given(st.sampled_from(sorted(HANDLERS)), st.binary(max_size=512))
def test_random_bytes_never_raise(name: str, tail: bytes) -> None:
    prefix = {"gguf": b"GGUF", "safetensors": b"", "npy": b"\x93NUMPY", "npy-object": b""}[name]
    _run(HANDLERS[name], prefix + tail)
    _run(HANDLERS[name], tail)


@FUZZ
@given(
    st.lists(
        st.sampled_from(
            [
                "{{",
                "}}",
                "{%",
                "%}",
                " for x in y ",
                " endfor ",
                " if ",
                " set a = ",
                "'__glo'",
                " ~ ",
                "|attr(",
                "|join",
                ")",
                "(",
                "[",
                "]",
                ".",
                "__class__",
                "cycler",
                "x",
                "'",
                '"',
                "{#",
                "#}",
                "*",
                "9999",
                "%",
            ]
        ),
        max_size=40,
    ).map("".join)
    | st.text(max_size=300)
)
def test_templates_never_raise(src: str) -> None:
    for issue in analyze_template(src):
        assert issue.kind and issue.evidence is not None
    config = json.dumps({"chat_template": src}).encode()
    _run(scan_tokenizer_config, config)
