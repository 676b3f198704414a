"""A minimal protobuf wire-format reader for hostile input, shared by the ONNX and TF handlers.

Why our own reader instead of the ``onnx``/``tensorflow`` packages (or even ``protobuf``)?
Those are heavy to install and import, they parse the whole message into objects (a
2 GiB model becomes 2 GiB of Python objects), and with generated classes an unknown or
malicious file is parsed by code whose limits we do not control. The scanners only need a
handful of fields, so this module walks the wire format directly over a ``memoryview``:

* zero-copy: length-delimited values are ``memoryview`` slices of the input (an ``mmap`` of
  the file works), nothing is decoded until a handler asks for it;
* every read is checked: a truncated varint, a varint longer than 10 bytes, a length past
  the end of the message, field number 0, wire types 3/4 (deprecated groups, never used by
  ONNX or TensorFlow) and the reserved wire types 6/7 raise `ProtobufError`;
* bounded: nesting depth and field counts raise `ProtobufLimit` (also a `ProtobufError`),
  optionally against a `Budget` shared by a whole parse.

`iter_prefix` is the tolerant variant the format sniffers use on a header: it stops at the
end of the available bytes instead of raising, and marks a length-delimited value that the
prefix cuts short.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TypeAlias

from dozor.scan.base import Buffer

VARINT = 0
I64 = 1
LEN = 2
SGROUP = 3
EGROUP = 4
I32 = 5

MAX_DEPTH = 64
"""Deepest message nesting a handler may descend to (protobuf's own default is 100)."""
MAX_FIELDS = 50_000_000
"""Most fields read from one message, or from one `Budget`."""
MAX_FIELD_NUMBER = (1 << 29) - 1

Value: TypeAlias = int | memoryview
Field: TypeAlias = tuple[int, int, Value]


class ProtobufError(ValueError):
    """The bytes are not a well-formed protobuf message."""


class ProtobufLimit(ProtobufError):
    """A depth or count limit was reached (the input may be well-formed but too big)."""


@dataclass
class Budget:
    """Limits shared by every message read during one parse of one file."""

    max_fields: int = MAX_FIELDS
    max_depth: int = MAX_DEPTH
    fields: int = 0

    def spend(self, count: int) -> None:
        self.fields += count
        if self.fields > self.max_fields:
            raise ProtobufLimit(f"more than {self.max_fields} protobuf fields")


def view(data: Buffer) -> memoryview:
    """A flat, read-only byte view of `data` without copying it."""
    mv = data if isinstance(data, memoryview) else memoryview(data)
    if mv.ndim != 1 or mv.format != "B":
        mv = mv.cast("B")
    return mv if mv.readonly else mv.toreadonly()


def read_varint(buf: memoryview, pos: int, end: int | None = None) -> tuple[int, int]:
    """Decode the varint at `pos`; return (value, position after it)."""
    if end is None:
        end = len(buf)
    result = 0
    shift = 0
    while True:
        if pos >= end:
            raise ProtobufError("truncated varint")
        byte = buf[pos]
        pos += 1
        result |= (byte & 0x7F) << shift
        if byte < 0x80:
            break
        shift += 7
        if shift >= 70:
            raise ProtobufError("varint longer than 10 bytes")
    if result >> 64:
        raise ProtobufError("varint larger than 64 bits")
    return result, pos


def iter_fields(
    data: Buffer,
    *,
    depth: int = 0,
    budget: Budget | None = None,
    max_fields: int = MAX_FIELDS,
) -> Iterator[Field]:
    """Yield (field_number, wire_type, value) for each field of one message.

    `value` is an int for varint and fixed-width fields (fixed ones as unsigned little
    endian) and a zero-copy ``memoryview`` slice for length-delimited ones. `depth` is the
    nesting level of this message; pass ``depth + 1`` when descending into a value.
    """
    limit_depth = budget.max_depth if budget is not None else MAX_DEPTH
    if depth > limit_depth:
        raise ProtobufLimit(f"protobuf nesting deeper than {limit_depth}")
    buf = view(data)
    end = len(buf)
    pos = 0
    count = 0
    while pos < end:
        count += 1
        if count > max_fields:
            raise ProtobufLimit(f"more than {max_fields} fields in one protobuf message")
        if budget is not None:
            budget.spend(1)
        byte = buf[pos]
        if byte < 0x80:
            key = byte
            pos += 1
        else:
            key, pos = read_varint(buf, pos, end)
        number = key >> 3
        wire = key & 7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise ProtobufError(f"invalid field number {number}")
        if wire == VARINT:
            if pos < end and buf[pos] < 0x80:
                yield number, wire, buf[pos]
                pos += 1
            else:
                value, pos = read_varint(buf, pos, end)
                yield number, wire, value
        elif wire == LEN:
            if pos < end and buf[pos] < 0x80:
                length = buf[pos]
                pos += 1
            else:
                length, pos = read_varint(buf, pos, end)
            if length > end - pos:
                raise ProtobufError(
                    f"field {number}: length {length} runs past the end ({end - pos} left)"
                )
            yield number, wire, buf[pos : pos + length]
            pos += length
        elif wire == I64:
            if end - pos < 8:
                raise ProtobufError(f"field {number}: truncated 64-bit value")
            yield number, wire, int.from_bytes(buf[pos : pos + 8], "little")
            pos += 8
        elif wire == I32:
            if end - pos < 4:
                raise ProtobufError(f"field {number}: truncated 32-bit value")
            yield number, wire, int.from_bytes(buf[pos : pos + 4], "little")
            pos += 4
        elif wire in (SGROUP, EGROUP):
            raise ProtobufError(f"field {number}: group wire type {wire} is not supported")
        else:
            raise ProtobufError(f"field {number}: invalid wire type {wire}")


def iter_prefix(data: Buffer, *, max_fields: int = 4096) -> Iterator[tuple[int, int, Value, bool]]:
    """Like `iter_fields`, but for the first bytes of a message that may be cut short.

    Yields (field_number, wire_type, value, complete). A length-delimited value that runs
    past the end of `data` is yielded once with the bytes that are there and
    ``complete=False``, then iteration stops; a key, varint or fixed value cut by the end
    just stops iteration. Malformed bytes (bad field number or wire type, an over-long
    varint) still raise `ProtobufError`, so a sniffer can tell "not protobuf" from "not
    enough bytes".
    """
    buf = view(data)
    end = len(buf)
    pos = 0
    count = 0
    while pos < end and count < max_fields:
        count += 1
        try:
            key, pos = read_varint(buf, pos, end)
        except ProtobufError:
            if end - pos >= 10:
                raise
            return
        number = key >> 3
        wire = key & 7
        if number == 0 or number > MAX_FIELD_NUMBER:
            raise ProtobufError(f"invalid field number {number}")
        if wire == VARINT:
            try:
                value, pos = read_varint(buf, pos, end)
            except ProtobufError:
                if end - pos >= 10:
                    raise
                return
            yield number, wire, value, True
        elif wire == LEN:
            try:
                length, pos = read_varint(buf, pos, end)
            except ProtobufError:
                if end - pos >= 10:
                    raise
                return
            if length > end - pos:
                yield number, wire, buf[pos:end], False
                return
            yield number, wire, buf[pos : pos + length], True
            pos += length
        elif wire in (I64, I32):
            size = 8 if wire == I64 else 4
            if end - pos < size:
                return
            yield number, wire, int.from_bytes(buf[pos : pos + size], "little"), True
            pos += size
        elif wire in (SGROUP, EGROUP):
            raise ProtobufError(f"field {number}: group wire type {wire} is not supported")
        else:
            raise ProtobufError(f"field {number}: invalid wire type {wire}")


def text(value: Value, limit: int = 1 << 16) -> str:
    """Decode a string field (at most `limit` bytes of it) for comparison and display.

    Invalid UTF-8 is kept distinguishable via ``surrogateescape``; pass the result through
    `dozor.scan.base.printable` before showing it.
    """
    if isinstance(value, int):
        return ""
    return bytes(value[:limit]).decode("utf-8", "surrogateescape")


def is_utf8(value: memoryview, *, cut: bool = False, limit: int = 1 << 16) -> bool:
    """Whether the first `limit` bytes of `value` are valid UTF-8.

    A code point cut by the end of what is checked is accepted when `value` is longer than
    `limit` or `cut` says the value itself was cut short by a prefix.
    """
    chunk = bytes(value[:limit])
    try:
        chunk.decode("utf-8")
    except UnicodeDecodeError as exc:
        tail_ok = cut or len(value) > limit
        return tail_ok and exc.start >= len(chunk) - 3 and exc.end == len(chunk)
    return True
