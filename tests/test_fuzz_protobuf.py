"""Fuzz the protobuf reader and the ONNX/SavedModel handlers built on it with hypothesis.

The reader sees hostile bytes first, so whatever it is given it must either yield
well-typed fields or raise `ProtobufError`, and the handlers must turn every failure
into a finding (or the engine's LimitExceeded/ScanTimeout), never an exception.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from dozor.findings import Location
from dozor.scan.base import Blob, LimitExceeded, ScanContext
from dozor.scan.models._protobuf import (
    I32,
    I64,
    LEN,
    VARINT,
    Budget,
    ProtobufError,
    ProtobufLimit,
    iter_fields,
    iter_prefix,
    read_varint,
)
from dozor.scan.models.onnx import looks_like_onnx, scan_onnx
from dozor.scan.models.savedmodel import (
    looks_like_keras_metadata,
    looks_like_savedmodel,
    scan_savedmodel,
)

FUZZ = settings(max_examples=300, deadline=None)


def varint(n: int) -> bytes:
    out = bytearray()
    while True:
        low, n = n & 0x7F, n >> 7
        out.append(low | (0x80 if n else 0))
        if not n:
            return bytes(out)


def encode(fields: list[tuple[int, int, int | bytes]]) -> bytes:
    out = b""
    for number, wire, value in fields:
        out += varint(number << 3 | wire)
        if wire == VARINT:
            assert isinstance(value, int)
            out += varint(value)
        elif wire == I64:
            assert isinstance(value, int)
            out += value.to_bytes(8, "little")
        elif wire == I32:
            assert isinstance(value, int)
            out += value.to_bytes(4, "little")
        else:
            assert isinstance(value, bytes)
            out += varint(len(value)) + value
    return out


numbers = st.integers(min_value=1, max_value=(1 << 29) - 1)
a_field = st.one_of(
    st.tuples(numbers, st.just(VARINT), st.integers(0, (1 << 64) - 1)),
    st.tuples(numbers, st.just(I64), st.integers(0, (1 << 64) - 1)),
    st.tuples(numbers, st.just(I32), st.integers(0, (1 << 32) - 1)),
    st.tuples(numbers, st.just(LEN), st.binary(max_size=64)),
)
messages = st.lists(a_field, max_size=20)


def walk(data: bytes | memoryview, depth: int, budget: Budget) -> int:
    """Read every field, descending into each length-delimited value as if a message."""
    count = 0
    for number, wire, value in iter_fields(data, depth=depth, budget=budget):
        count += 1
        assert number >= 1 and wire in (VARINT, I64, LEN, I32)
        if wire == LEN:
            assert isinstance(value, memoryview)
            try:
                count += walk(value, depth + 1, budget)
            except ProtobufLimit:
                raise
            except ProtobufError:
                pass  # a byte string that is not a message is fine
        else:
            assert isinstance(value, int) and 0 <= value < 1 << 64
    return count


@FUZZ
@given(st.binary(max_size=512))
def test_reader_yields_fields_or_raises_protobuf_error(data: bytes) -> None:
    try:
        walk(data, 0, Budget(max_fields=100_000, max_depth=32))
    except ProtobufError:
        pass


@FUZZ
@given(messages)
def test_reader_round_trips_what_was_encoded(fields: list[tuple[int, int, int | bytes]]) -> None:
    data = encode(fields)
    read = [(n, w, bytes(v) if isinstance(v, memoryview) else v) for n, w, v in iter_fields(data)]
    assert read == fields


@FUZZ
@given(messages, st.data())
def test_prefix_reader_never_raises_on_a_cut_message(
    fields: list[tuple[int, int, int | bytes]], data: st.DataObject
) -> None:
    whole = encode(fields)
    cut = data.draw(st.integers(0, len(whole)))
    seen = list(iter_prefix(whole[:cut], max_fields=1000))
    for (n, w, v, complete), expected in zip(seen, fields, strict=False):
        assert (n, w) == expected[:2]
        got = bytes(v) if isinstance(v, memoryview) else v
        if complete:
            assert got == expected[2]
        else:
            value = expected[2]
            assert isinstance(value, bytes) and isinstance(got, bytes)
            assert value.startswith(got)


@FUZZ
@given(st.integers(0, (1 << 64) - 1))
def test_varints_decode_and_overlong_ones_are_rejected(value: int) -> None:
    encoded = varint(value)
    assert read_varint(memoryview(encoded), 0) == (value, len(encoded))
    try:
        read_varint(memoryview(encoded[:-1]), 0)
    except ProtobufError:
        pass
    else:
        raise AssertionError("a cut varint was accepted")
    try:
        read_varint(memoryview(b"\xff" * 10 + b"\x01"), 0)
    except ProtobufError:
        pass
    else:
        raise AssertionError("an 11-byte varint was accepted")


@FUZZ
@given(st.integers(1, 40))
def test_depth_and_field_limits(levels: int) -> None:
    data = b"\x08\x01"
    for _ in range(levels):
        data = b"\x0a" + varint(len(data)) + data
    budget = Budget(max_depth=20)
    try:
        walk(data, 0, budget)
    except ProtobufLimit:
        assert levels > 20
    else:
        assert levels <= 20
    try:
        list(iter_fields(b"\x08\x01" * 50, max_fields=49))
    except ProtobufLimit:
        pass
    else:
        raise AssertionError("the field limit was not enforced")


def scan_all(data: bytes) -> None:
    for scan, name in ((scan_onnx, "x.onnx"), (scan_savedmodel, "saved_model.pb")):
        try:
            for found in scan(Blob(data, Location(name)), ScanContext()):
                assert found.rule_id.startswith(("DZ-ONNX-", "DZ-TF-"))
        except LimitExceeded:
            pass  # the engine turns this into a finding
    for sniff in (looks_like_onnx, looks_like_savedmodel, looks_like_keras_metadata):
        assert sniff(data) in (True, False)


@FUZZ
@given(st.sampled_from([b"\x08\x08", b"\x08\x01", b"\x0a"]), st.binary(max_size=400))
def test_handlers_never_raise_on_arbitrary_bytes(prefix: bytes, tail: bytes) -> None:
    scan_all(prefix + tail)


def onnx_like(fields: list[tuple[int, int, int | bytes]]) -> bytes:
    node = encode([(4, LEN, b"Custom"), (7, LEN, b"my.domain"), (5, LEN, encode(fields))])
    tensor = encode([(8, LEN, b"w"), (13, LEN, encode([(1, LEN, b"location"), (2, LEN, b"w")]))])
    graph = encode([(1, LEN, node), (5, LEN, tensor + bytes([14 << 3]) + b"\x01")])
    return encode([(1, VARINT, 8), (7, LEN, graph), (8, LEN, encode([(2, VARINT, 17)]))])


@FUZZ
@given(messages, st.data())
def test_handlers_never_raise_on_mutated_models(
    fields: list[tuple[int, int, int | bytes]], data: st.DataObject
) -> None:
    model = bytearray(onnx_like(fields))
    for _ in range(data.draw(st.integers(0, 4))):
        where = data.draw(st.integers(0, len(model) - 1))
        model[where] = data.draw(st.integers(0, 255))
    scan_all(bytes(model))
    scan_all(b"\x08\x01\x12" + bytes(model)[2:])
