"""A symbolic pickle machine: reads every opcode, executes nothing.

Why our own and not `pickletools.genops`: genops only lists opcodes; to judge a pickle
we must know *what is called with what* — which import a ``STACK_GLOBAL`` resolves to
when its strings come from the memo, which object a ``BUILD`` mutates, which value a
``REDUCE`` calls. This machine mirrors CPython's unpickler (stack, metastack of marks,
memo) with symbolic values: ``Global`` for an import, ``Call`` for the result of
``REDUCE``/``NEWOBJ``/``INST``/``OBJ``, plain Python values for constants. Large byte
strings stay as offsets into the input (no copy), so a multi-gigabyte pickle costs
little memory.

The machine reports events to an observer (`PickleObserver`); the verdict is the
observer's business (see `pickle_scan`). It stops cleanly at ``STOP`` and raises
`PickleError` (with the offset) on malformed input, after the observer has already
seen everything before the fault.
"""

from __future__ import annotations

import _compat_pickle
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from dozor.scan.base import Buffer, LimitExceeded

SMALL_BYTES = 1 << 16
"""Byte strings up to this size are copied as `bytes`; larger ones stay `BigBytes`."""
MAX_LINE = 1 << 28
"""Longest text line a protocol-0 opcode may have."""
MAX_KEPT = 100_000
"""Items a symbolic list, dict or set keeps; further items are counted, not kept."""


class PickleError(Exception):
    """Malformed pickle data; `offset` is where reading failed."""

    def __init__(self, message: str, offset: int) -> None:
        super().__init__(message)
        self.offset = offset


@dataclass(eq=False)
class Global:
    """An import the unpickler would perform (``find_class(module, name)``)."""

    module: str
    name: str
    offset: int
    dynamic: bool = False
    """True when module or name is not a constant string (built at load time)."""

    @property
    def full(self) -> str:
        return f"{self.module}.{self.name}" if self.module else self.name


@dataclass(eq=False)
class Call:
    """The result of calling `func` with `args` (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ)."""

    func: Any
    args: Any
    opcode: str
    offset: int
    state: Any = None
    kwargs: Any = None


@dataclass(eq=False)
class BigBytes:
    """A byte string too large to copy: its place in the input."""

    start: int
    length: int


@dataclass(eq=False)
class BigStr:
    """A text string too large to keep: its length and first characters."""

    length: int
    head: str


@dataclass(eq=False)
class Persistent:
    """A persistent id (torch uses them for tensor storages)."""

    pid: Any


@dataclass(eq=False)
class Extension:
    """An object fetched from copyreg's extension registry by code (EXT1/2/4)."""

    code: int


class SymList:
    """A list being built; keeps its first MAX_KEPT items (slots: millions are made)."""

    __slots__ = ("items", "dropped")

    def __init__(self) -> None:
        self.items: list[Any] = []
        self.dropped = 0

    def add(self, value: Any) -> None:
        if len(self.items) < MAX_KEPT:
            self.items.append(value)
        else:
            self.dropped += 1


class SymDict:
    """A dict being built, as (key, value) pairs: symbolic keys need not be hashable."""

    __slots__ = ("pairs", "dropped")

    def __init__(self) -> None:
        self.pairs: list[tuple[Any, Any]] = []
        self.dropped = 0

    def add(self, key: Any, value: Any) -> None:
        if len(self.pairs) < MAX_KEPT:
            self.pairs.append((key, value))
        else:
            self.dropped += 1

    def get(self, key: str) -> Any:
        for k, v in self.pairs:
            if k == key and isinstance(k, str):
                return v
        return None


@dataclass(eq=False)
class SymSet:
    items: list[Any] = field(default_factory=list)
    frozen: bool = False


@dataclass(eq=False)
class Buffer5:
    """An out-of-band buffer (protocol 5 NEXT_BUFFER)."""


class PickleObserver:
    """Receives what the machine sees. Subclass and override what you need."""

    def on_global(self, g: Global) -> None:
        """An import (GLOBAL, STACK_GLOBAL, INST, OBJ's class)."""

    def on_call(self, call: Call) -> None:
        """A call is made (REDUCE, NEWOBJ, NEWOBJ_EX, INST, OBJ)."""

    def on_build(self, target: Any, state: Any, offset: int, next_pos: int) -> int:
        """BUILD applies `state` to `target`. Return how many bytes after `next_pos` the
        loader reads itself (joblib writes array data, or a whole pickle for object
        arrays, straight after a wrapper's BUILD), else 0."""
        return 0

    def on_extension(self, code: int, offset: int) -> None:
        """EXT1/EXT2/EXT4."""

    def on_bytes(self, value: bytes | BigBytes | str, offset: int) -> None:
        """A byte or text constant that may hold a nested payload."""


_unpack_i = struct.Struct("<i").unpack_from
_unpack_I = struct.Struct("<I").unpack_from
_unpack_H = struct.Struct("<H").unpack_from
_unpack_Q = struct.Struct("<Q").unpack_from
_unpack_d = struct.Struct(">d").unpack_from


@dataclass
class PickleResult:
    """Where one pickle ended and what it held."""

    end: int
    """Offset just after STOP (or of the fault)."""
    protocol: int
    opcodes: int
    value: Any
    """The symbolic top of stack at STOP (None on fault)."""
    tidy: bool = True
    """STOP left nothing else behind: no other stack items, no open MARK (as pickle.dumps
    writes; a crafted or random byte string reaching a STOP usually does not)."""


def _fix_import(module: str, name: str) -> tuple[str, str]:
    """Apply the Python 2 name mapping the unpickler applies (fix_imports=True)."""
    if (module, name) in _compat_pickle.NAME_MAPPING:
        return _compat_pickle.NAME_MAPPING[(module, name)]  # type: ignore[no-any-return]
    if module in _compat_pickle.IMPORT_MAPPING:
        return _compat_pickle.IMPORT_MAPPING[module], name
    return module, name


class PickleMachine:
    """Reads one pickle starting at `start` in `data`, reporting to `observer`."""

    def __init__(
        self,
        data: Buffer,
        observer: PickleObserver,
        *,
        max_ops: int,
        max_items: int,
        check_time: Callable[[], None],
    ) -> None:
        self.data = data
        self.end = len(data)
        self.obs = observer
        self.max_ops = max_ops
        self.max_items = max_items
        self.check_time = check_time

    # -- reading helpers -------------------------------------------------------------

    def _take(self, pos: int, n: int) -> bytes:
        if n < 0 or pos + n > self.end:
            raise PickleError(f"truncated: needs {n} bytes at offset {pos}", pos)
        return bytes(self.data[pos : pos + n])

    def _line(self, pos: int) -> tuple[bytes, int]:
        data = self.data
        stop = min(self.end, pos + MAX_LINE)
        if isinstance(data, memoryview):
            chunk = bytes(data[pos:stop])
            nl = chunk.find(b"\n")
            nl = -1 if nl < 0 else pos + nl
        else:
            nl = data.find(b"\n", pos, stop)
        if nl < 0:
            raise PickleError(f"unterminated line at offset {pos}", pos)
        return bytes(data[pos:nl]), nl + 1

    def _bytes_value(self, pos: int, n: int) -> tuple[bytes | BigBytes, int]:
        if n < 0 or pos + n > self.end:
            raise PickleError(f"truncated: string of {n} bytes at offset {pos}", pos)
        if n <= SMALL_BYTES:
            return bytes(self.data[pos : pos + n]), pos + n
        return BigBytes(pos, n), pos + n

    def _str_value(self, pos: int, n: int) -> tuple[str | BigStr, int]:
        if n < 0 or pos + n > self.end:
            raise PickleError(f"truncated: text of {n} bytes at offset {pos}", pos)
        if n <= SMALL_BYTES:
            try:
                return str(self.data[pos : pos + n], "utf-8", "surrogatepass"), pos + n
            except UnicodeDecodeError:
                raise PickleError(f"invalid UTF-8 text at offset {pos}", pos) from None
        head = bytes(self.data[pos : pos + 256]).decode("utf-8", "replace")
        return BigStr(n, head), pos + n

    # -- the machine -----------------------------------------------------------------

    def run(self, start: int) -> PickleResult:
        """Read one pickle from `start` to its STOP; PickleError on malformed data."""
        pos = start
        try:
            return self._run(start)
        except PickleError:
            raise
        except (IndexError, struct.error, OverflowError, MemoryError, ValueError) as exc:
            # a pop from an empty stack, a read past the end: the pickle is malformed
            pos = getattr(self, "_op_pos", pos)
            raise PickleError(f"malformed at offset {pos}: {type(exc).__name__}", pos) from None

    def _run(self, start: int) -> PickleResult:  # noqa: C901 - one opcode table, kept together
        """The opcode loop, most frequent opcodes first (this is the hot path)."""
        data = self.data
        end = self.end
        obs = self.obs
        stack: list[Any] = []
        metastack: list[list[Any]] = []
        memo: dict[int, Any] = {}
        pos = start
        ops = 0
        proto = 0
        max_items = self.max_items
        unpack_I, unpack_i, unpack_H, unpack_Q = _unpack_I, _unpack_i, _unpack_H, _unpack_Q

        def make_global(module: Any, name: Any, at: int) -> Global:
            if not (isinstance(module, str) and isinstance(name, str)):
                g = Global(_describe(module), _describe(name), at, dynamic=True)
            else:
                m, n = _fix_import(module, name) if proto < 3 else (module, name)
                g = Global(m, n, at)
            obs.on_global(g)
            return g

        while True:
            if pos >= end:
                raise PickleError(f"truncated: no STOP before end of data (offset {pos})", pos)
            ops += 1
            if not ops & 0xFFFF:
                self._op_pos = pos
                self.check_time()
                if ops > self.max_ops:
                    raise LimitExceeded(f"pickle has more than {self.max_ops} opcodes")
                if len(stack) + len(memo) > max_items:
                    raise LimitExceeded(f"pickle holds more than {max_items} live objects")
            op_pos = pos
            op = data[pos]
            pos += 1

            if op == 0x8C:  # SHORT_BINUNICODE
                n = data[pos]
                pos += 1
                text: Any
                text, pos = self._str_value(pos, n)
                if len(text) >= 16:
                    obs.on_bytes(text, op_pos)
                stack.append(text)
            elif op == 0x94:  # MEMOIZE
                memo[len(memo)] = stack[-1]
            elif op == 0x71:  # BINPUT
                memo[data[pos]] = stack[-1]
                pos += 1
            elif op == 0x68:  # BINGET
                idx = data[pos]
                pos += 1
                if idx not in memo:
                    raise PickleError(f"memo key {idx} not defined at offset {op_pos}", op_pos)
                stack.append(memo[idx])
            elif op == 0x4B:  # BININT1
                stack.append(data[pos])
                pos += 1
            elif op == 0x28:  # MARK
                metastack.append(stack)
                stack = []
            elif op == 0x7D:  # EMPTY_DICT
                stack.append(SymDict())
            elif op == 0x75:  # SETITEMS
                items = stack
                stack = metastack.pop()
                target = stack[-1]
                for i in range(0, len(items) - 1, 2):
                    _setitem(target, items[i], items[i + 1], op_pos)
            elif op == 0x47:  # BINFLOAT
                stack.append(_unpack_d(data, pos)[0])
                pos += 8
            elif op == 0x4A:  # BININT
                stack.append(unpack_i(data, pos)[0])
                pos += 4
            elif op == 0x86:  # TUPLE2
                b = stack.pop()
                stack[-1] = (stack[-1], b)
            elif op == 0x85:  # TUPLE1
                stack[-1] = (stack[-1],)
            elif op == 0x87:  # TUPLE3
                c = stack.pop()
                b = stack.pop()
                stack[-1] = (stack[-1], b, c)
            elif op == 0x72:  # LONG_BINPUT
                memo[unpack_I(data, pos)[0]] = stack[-1]
                pos += 4
            elif op == 0x6A:  # LONG_BINGET
                idx = unpack_I(data, pos)[0]
                pos += 4
                if idx not in memo:
                    raise PickleError(f"memo key {idx} not defined at offset {op_pos}", op_pos)
                stack.append(memo[idx])
            elif op == 0x4E:  # NONE
                stack.append(None)
            elif op == 0x88:  # NEWTRUE
                stack.append(True)
            elif op == 0x89:  # NEWFALSE
                stack.append(False)
            elif op == 0x5D:  # EMPTY_LIST
                stack.append(SymList())
            elif op == 0x65:  # APPENDS
                items = stack
                stack = metastack.pop()
                target = stack[-1]
                if isinstance(target, SymList):
                    for item in items:
                        target.add(item)
                elif not isinstance(target, Call):
                    raise PickleError(f"APPENDS to a non-list at offset {op_pos}", op_pos)
            elif op == 0x61:  # APPEND
                value = stack.pop()
                _append(stack[-1], value, op_pos)
            elif op == 0x73:  # SETITEM
                value = stack.pop()
                key = stack.pop()
                _setitem(stack[-1], key, value, op_pos)
            elif op == 0x29:  # EMPTY_TUPLE
                stack.append(())
            elif op == 0x74:  # TUPLE
                items = stack
                stack = metastack.pop()
                stack.append(tuple(items))
            elif op == 0x4D:  # BININT2
                stack.append(unpack_H(data, pos)[0])
                pos += 2
            elif op in (0x43, 0x42, 0x8E, 0x96):  # SHORT_BINBYTES, BINBYTES, BINBYTES8, BYTEARRAY8
                if op == 0x43:
                    n = data[pos]
                    pos += 1
                elif op == 0x42:
                    n = unpack_I(data, pos)[0]
                    pos += 4
                else:
                    n = unpack_Q(data, pos)[0]
                    pos += 8
                value, pos = self._bytes_value(pos, n)
                obs.on_bytes(value, op_pos)
                stack.append(value)
            elif op in (0x58, 0x8D):  # BINUNICODE, BINUNICODE8
                if op == 0x58:
                    n = unpack_I(data, pos)[0]
                    pos += 4
                else:
                    n = unpack_Q(data, pos)[0]
                    pos += 8
                text, pos = self._str_value(pos, n)
                if isinstance(text, BigStr) or len(text) >= 16:
                    obs.on_bytes(text, op_pos)
                stack.append(text)
            elif op == 0x52:  # REDUCE
                args = stack.pop()
                call = Call(stack[-1], args, "REDUCE", op_pos)
                stack[-1] = call
                obs.on_call(call)
            elif op == 0x62:  # BUILD
                state = stack.pop()
                target = stack[-1]
                if isinstance(target, Call) and target.state is None:
                    target.state = state
                skip = obs.on_build(target, state, op_pos, pos)
                if skip:
                    if skip < 0 or pos + skip > end:
                        raise PickleError(f"raw data after BUILD runs past the end ({skip})", pos)
                    pos += skip
            elif op == 0x81:  # NEWOBJ
                args = stack.pop()
                call = Call(stack[-1], args, "NEWOBJ", op_pos)
                stack[-1] = call
                obs.on_call(call)
            elif op == 0x93:  # STACK_GLOBAL
                name = stack.pop()
                module = stack.pop()
                stack.append(make_global(module, name, op_pos))
            elif op == 0x63:  # GLOBAL
                module, pos = self._line(pos)
                name, pos = self._line(pos)
                stack.append(make_global(_utf8(module, op_pos), _utf8(name, op_pos), op_pos))
            elif op == 0x80:  # PROTO
                proto = data[pos]
                pos += 1
                if proto > 5:
                    raise PickleError(f"unsupported pickle protocol {proto}", op_pos)
            elif op == 0x95:  # FRAME: a length prefix only; opcodes continue inline
                unpack_Q(data, pos)
                pos += 8
            elif op == 0x2E:  # STOP
                value = stack.pop()
                return PickleResult(pos, proto, ops, value, not stack and not metastack)
            elif op == 0x70:  # PUT
                line, pos = self._line(pos)
                memo[_int_line(line, op_pos)] = stack[-1]
            elif op == 0x67:  # GET
                line, pos = self._line(pos)
                idx = _int_line(line, op_pos)
                if idx not in memo:
                    raise PickleError(f"memo key {idx} not defined at offset {op_pos}", op_pos)
                stack.append(memo[idx])
            elif op == 0x8A:  # LONG1
                n = data[pos]
                stack.append(int.from_bytes(self._take(pos + 1, n), "little", signed=True))
                pos += 1 + n
            elif op == 0x8B:  # LONG4
                n = unpack_i(data, pos)[0]
                if n < 0 or n > 1 << 20:
                    raise PickleError(f"LONG4 of {n} bytes at offset {op_pos}", op_pos)
                stack.append(int.from_bytes(self._take(pos + 4, n), "little", signed=True))
                pos += 4 + n
            elif op in (0x49, 0x4C, 0x46):  # INT, LONG, FLOAT (text)
                line, pos = self._line(pos)
                stack.append(_text_number(op, line, op_pos))
            elif op in (0x55, 0x54):  # SHORT_BINSTRING, BINSTRING (py2 str: bytes)
                if op == 0x55:
                    n = data[pos]
                    pos += 1
                else:
                    n = unpack_i(data, pos)[0]
                    pos += 4
                value, pos = self._bytes_value(pos, n)
                obs.on_bytes(value, op_pos)
                stack.append(_as_text(value))
            elif op == 0x53:  # STRING (quoted repr)
                line, pos = self._line(pos)
                raw = _quoted(line, op_pos)
                obs.on_bytes(raw, op_pos)
                stack.append(_as_text(raw))
            elif op == 0x56:  # UNICODE (raw-unicode-escape line)
                line, pos = self._line(pos)
                try:
                    text = line.decode("raw-unicode-escape")
                except UnicodeDecodeError:
                    raise PickleError(f"bad UNICODE at offset {op_pos}", op_pos) from None
                if len(text) >= 16:
                    obs.on_bytes(text, op_pos)
                stack.append(text)
            elif op == 0x6C:  # LIST
                items = stack
                stack = metastack.pop()
                lst = SymList()
                for item in items:
                    lst.add(item)
                stack.append(lst)
            elif op == 0x64:  # DICT
                items = stack
                stack = metastack.pop()
                dct = SymDict()
                for i in range(0, len(items) - 1, 2):
                    dct.add(items[i], items[i + 1])
                stack.append(dct)
            elif op == 0x8F:  # EMPTY_SET
                stack.append(SymSet())
            elif op == 0x90:  # ADDITEMS
                items = stack
                stack = metastack.pop()
                target = stack[-1]
                if isinstance(target, SymSet) and not target.frozen:
                    target.items.extend(items[: MAX_KEPT - len(target.items)])
                elif not isinstance(target, Call):
                    raise PickleError(f"ADDITEMS to a non-set at offset {op_pos}", op_pos)
            elif op == 0x91:  # FROZENSET
                items = stack
                stack = metastack.pop()
                stack.append(SymSet(items[:MAX_KEPT], frozen=True))
            elif op == 0x30:  # POP
                if stack:
                    stack.pop()
                else:
                    stack = metastack.pop()
            elif op == 0x31:  # POP_MARK
                stack = metastack.pop()
            elif op == 0x32:  # DUP
                stack.append(stack[-1])
            elif op == 0x92:  # NEWOBJ_EX
                kwargs = stack.pop()
                args = stack.pop()
                call = Call(stack[-1], args, "NEWOBJ_EX", op_pos, kwargs=kwargs)
                stack[-1] = call
                obs.on_call(call)
            elif op == 0x69:  # INST
                module, pos = self._line(pos)
                name, pos = self._line(pos)
                cls = make_global(_utf8(module, op_pos), _utf8(name, op_pos), op_pos)
                items = stack
                stack = metastack.pop()
                call = Call(cls, tuple(items), "INST", op_pos)
                stack.append(call)
                obs.on_call(call)
            elif op == 0x6F:  # OBJ
                items = stack
                stack = metastack.pop()
                if not items:
                    raise PickleError(f"OBJ without a class at offset {op_pos}", op_pos)
                call = Call(items[0], tuple(items[1:]), "OBJ", op_pos)
                stack.append(call)
                obs.on_call(call)
            elif op in (0x50, 0x51):  # PERSID, BINPERSID
                if op == 0x50:
                    line, pos = self._line(pos)
                    stack.append(Persistent(line.decode("ascii", "replace")))
                else:
                    stack[-1] = Persistent(stack[-1])
            elif op in (0x82, 0x83, 0x84):  # EXT1, EXT2, EXT4
                width = {0x82: 1, 0x83: 2, 0x84: 4}[op]
                code = int.from_bytes(self._take(pos, width), "little")
                pos += width
                obs.on_extension(code, op_pos)
                stack.append(Extension(code))
            elif op == 0x97:  # NEXT_BUFFER
                stack.append(Buffer5())
            elif op == 0x98:  # READONLY_BUFFER
                stack[-1]  # noqa: B018 - must exist
            else:
                raise PickleError(f"unknown opcode 0x{op:02x} at offset {op_pos}", op_pos)


def _utf8(raw: bytes, at: int) -> str:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise PickleError(f"import name is not UTF-8 at offset {at}", at) from None


def _int_line(line: bytes, at: int) -> int:
    try:
        return int(line)
    except ValueError:
        raise PickleError(f"bad memo index at offset {at}", at) from None


def _text_number(op: int, line: bytes, at: int) -> Any:
    try:
        if op == 0x49:
            if line == b"00":
                return False
            if line == b"01":
                return True
            return int(line)
        if op == 0x4C:
            return int(line[:-1] if line.endswith(b"L") else line)
        return float(line)
    except ValueError:
        raise PickleError(f"bad number literal at offset {at}", at) from None


def _quoted(line: bytes, at: int) -> bytes:
    if len(line) >= 2 and line[0] == line[-1] and line[:1] in (b"'", b'"'):
        try:
            import codecs

            return codecs.escape_decode(line[1:-1])[0]
        except ValueError:
            pass
    raise PickleError(f"bad STRING literal at offset {at}", at)


def _as_text(value: bytes | BigBytes) -> Any:
    """Protocol 0-2 strings decode as latin-1 text for module/name purposes."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return value


def _describe(value: Any) -> str:
    if isinstance(value, Global):
        return f"<import {value.full}>"
    if isinstance(value, Call):
        return f"<result of {_describe(value.func)}(...)>"
    return f"<{type(value).__name__}>"


def _append(target: Any, value: Any, at: int) -> None:
    if isinstance(target, SymList):
        target.add(value)
    elif isinstance(target, Call):
        # list subclasses and objects with .append/.extend: calls a method on load
        return
    else:
        raise PickleError(f"APPEND to a non-list at offset {at}", at)


def _setitem(target: Any, key: Any, value: Any, at: int) -> None:
    if isinstance(target, SymDict):
        target.add(key, value)
    elif isinstance(target, Call):
        return  # __setitem__ of a constructed object (e.g. OrderedDict)
    else:
        raise PickleError(f"SETITEM on a non-dict at offset {at}", at)
