"""Judge pickles: raw pickle, joblib, dill, cloudpickle, numpy object arrays, legacy torch.

The symbolic machine (`pickle_vm`) reports imports, calls and BUILDs; `PickleAnalysis`
judges them against the allowlist (`pickle_imports`). A stream may hold several pickles
(legacy torch writes five, scripts append more): every one is read. joblib writes array
bytes, or a whole pickle for object arrays, straight after each ``NumpyArrayWrapper``;
we skip or read them exactly as joblib's loader does, so a payload cannot hide there.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from typing import Any

from dozor.findings import Finding, Severity
from dozor.scan.base import Blob, Buffer, LimitExceeded, ScanContext, finding, printable
from dozor.scan.models.pickle_imports import ALLOWED_CALLS, DANGEROUS_ATTRS, Verdict, judge
from dozor.scan.models.pickle_vm import (
    BigBytes,
    BigStr,
    Call,
    Extension,
    Global,
    Persistent,
    PickleError,
    PickleMachine,
    PickleObserver,
    SymDict,
    SymList,
)

SCANNER = "pickle"
LEGACY_TORCH_MAGIC = 0x1950A86A20F9469CFC6C
_FIX_UNKNOWN = (
    "If you trust the file's author and this class is expected, allow it in .dozor.yaml "
    "(allow_imports); otherwise do not load the file."
)
_FIX_DANGEROUS = (
    "Do not load this file. Pickle runs this callable on load; rebuild the model from a "
    "trusted source or convert it to a data-only format such as safetensors."
)
_UFUNC_MODULES = frozenset({"numpy", "numpy.core.umath", "numpy._core.umath", "scipy.special",
                            "scipy.special._ufuncs"})
_EXEC_STATE_KEYS = {
    "_parse_arg_template": "scipy.stats distributions exec() it in __setstate__",
}
_STATE_DUNDERS = DANGEROUS_ATTRS - {"__module__"}


def _buffer(data: Buffer) -> Buffer:
    """Bytes-like with `.find`: memoryviews are copied (pickle members are small)."""
    if isinstance(data, memoryview):
        return data.tobytes()
    return data


_DOTTED = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_<][A-Za-z0-9_>]*)*$")
_P0_START = frozenset(b"(c]})NILFSVijKJMUTXGBCd")
_PROBE_WINDOW = 1 << 16


def looks_like_pickle(data: Buffer, pos: int = 0) -> bool:
    """Does a pickle start at `pos`? Protocol 2+ has a header; protocol 0/1 pickles do
    not, so they are confirmed by reading the first 64 KiB symbolically."""
    if pos + 2 > len(data):
        return False
    first, second = data[pos], data[pos + 1]
    if first == 0x80:
        return 2 <= second <= 5
    if first not in _P0_START:
        return False
    window = bytes(data[pos : pos + _PROBE_WINDOW])
    seen = _Probe()
    machine = PickleMachine(window, seen, max_ops=100_000, max_items=100_000,
                            check_time=lambda: None)
    try:
        result = machine.run(0)
    except PickleError as exc:
        return seen.imports > 0 or (len(window) == _PROBE_WINDOW and exc.offset >= len(window) - 16)
    except LimitExceeded:
        return True
    return result.tidy and result.opcodes >= 3


class _Probe(PickleObserver):
    imports = 0

    def on_global(self, g: Global) -> None:
        # text that merely starts with "c" is not an import: the names must be importable
        if g.dynamic or _DOTTED.match(g.module) and _DOTTED.match(g.name):
            self.imports += 1


class PickleAnalysis(PickleObserver):
    """Turns machine events into findings for one pickle."""

    def __init__(self, blob: Blob, ctx: ScanContext, data: Buffer, label: str) -> None:
        self.blob = blob
        self.ctx = ctx
        self.data = data
        self.label = label
        self.findings: list[Finding] = []
        self.imports: list[str] = []
        self.nested: list[tuple[Buffer, str, str | None]] = []
        self._seen: set[tuple[str, str]] = set()
        self._deferred: list[Global] = []
        self._allowed_results: set[int] = set()

    # -- reporting --------------------------------------------------------------------

    def _add(
        self,
        rule: str,
        title: str,
        severity: Severity,
        offset: int,
        evidence: str,
        remediation: str = _FIX_DANGEROUS,
        details: dict[str, str] | None = None,
    ) -> None:
        key = (rule, evidence)
        if key in self._seen:
            return
        self._seen.add(key)
        self.findings.append(
            finding(
                rule,
                title,
                severity,
                self.blob.location.at(offset=offset),
                evidence=evidence,
                remediation=remediation,
                scanner=SCANNER,
                details=details,
            )
        )

    # -- events -------------------------------------------------------------------------

    def on_global(self, g: Global) -> None:
        if g.dynamic:
            self._add(
                "DZ-PKL-004",
                "Pickle imports a name computed at load time",
                Severity.CRITICAL,
                g.offset,
                f"import of {g.module}.{g.name}",
            )
            return
        self.imports.append(g.full)
        if g.full in ALLOWED_CALLS:
            self._deferred.append(g)  # judged where it is used: see on_call
            return
        j = judge(g.module, g.name)
        if j.verdict is Verdict.DANGEROUS:
            self._add(
                "DZ-PKL-001",
                "Pickle imports a dangerous callable",
                Severity.CRITICAL,
                g.offset,
                f"{g.full}: {j.reason}",
                details={"import": g.full},
            )
        elif j.verdict is Verdict.NESTED:
            self._add(
                "DZ-PKL-003",
                "Pickle deserialises nested data with a code-running loader",
                Severity.CRITICAL,
                g.offset,
                f"{g.full}: {j.reason}",
                details={"import": g.full},
            )
        elif j.verdict is Verdict.UNKNOWN:
            self._add(
                "DZ-PKL-002",
                "Pickle imports a name outside the ML allowlist",
                Severity.MEDIUM,
                g.offset,
                g.full,
                remediation=_FIX_UNKNOWN,
                details={"import": g.full},
            )

    def on_call(self, call: Call) -> None:
        func = call.func
        if self._deferred:
            self._check_deferred(call)
        if isinstance(func, Global):
            if not func.dynamic and judge(func.module, func.name).verdict is Verdict.IMPORT_GADGET:
                self._gadget(func, call)
            return
        if isinstance(func, Call) and id(func) in self._allowed_results:
            return
        if isinstance(func, (Call, Persistent, Extension)):
            what = "the result of another call" if isinstance(func, Call) else "a loaded object"
            self._add(
                "DZ-PKL-011",
                f"Pickle calls {what} (call chain)",
                Severity.HIGH,
                call.offset,
                f"{call.opcode} on {_show(func)}",
            )
            return
        self._add(
            "DZ-PKL-009",
            "Pickle calls something that is not callable (malformed or crafted)",
            Severity.MEDIUM,
            call.offset,
            f"{call.opcode} on {_show(func)}",
            remediation="Do not load the file; it is malformed or crafted.",
        )

    def _check_deferred(self, call: Call) -> None:
        """A deferred callable is fine only as the function of an allowed call; passed
        anywhere else (an argument another callable may invoke) it is dangerous."""
        func = call.func
        if isinstance(func, Global) and func in self._deferred:
            args = call.args
            pair = (
                (args[0].full, args[1])
                if isinstance(args, tuple) and len(args) == 2
                and isinstance(args[0], Global) and isinstance(args[1], str)
                else None
            )
            if pair in ALLOWED_CALLS[func.full]:
                self._allowed_results.add(id(call))  # calling what it returns is expected
            else:
                self._dangerous_use(func, call.offset, f"{func.full}{_show_args(args)}")
        for value in (call.args, call.kwargs):
            for g in _globals_in(value):
                if g in self._deferred:
                    self._dangerous_use(g, call.offset, f"{g.full} passed to {_show(func)}")

    def _dangerous_use(self, g: Global, offset: int, evidence: str) -> None:
        self._add(
            "DZ-PKL-001",
            "Pickle imports a dangerous callable",
            Severity.CRITICAL,
            offset,
            evidence,
            details={"import": g.full},
        )

    def _gadget(self, func: Global, call: Call) -> None:
        args = call.args
        if (
            isinstance(args, tuple)
            and len(args) == 2
            and all(isinstance(a, str) for a in args)
        ):
            module, name = args
            j = judge(module, name)
            if j.verdict is Verdict.SAFE or (
                module in _UFUNC_MODULES
                and name.isidentifier()
                and j.verdict is Verdict.UNKNOWN
            ):
                return  # an ordinary ufunc such as numpy.log1p
            evidence = f"{func.full}({module!r}, {name!r}) imports {module}.{name}"
        else:
            evidence = f"{func.full} with computed arguments"
        self._add(
            "DZ-PKL-005",
            "Pickle uses an import gadget to reach a callable",
            Severity.CRITICAL,
            call.offset,
            evidence,
        )

    def on_build(self, target: Any, state: Any, offset: int, next_pos: int) -> int:
        for g in _globals_in(state):
            if g in self._deferred:
                self._dangerous_use(g, offset, f"{g.full} stored in object state")
        if isinstance(target, Global):
            self._add(
                "DZ-PKL-006",
                "Pickle BUILD modifies an imported class, function or module",
                Severity.CRITICAL,
                offset,
                f"BUILD on {target.full}",
            )
        for key in _state_keys(state):
            if key in _EXEC_STATE_KEYS:
                self._add(
                    "DZ-PKL-007",
                    "Pickle BUILD sets a string that the class runs with exec() on load",
                    Severity.HIGH,
                    offset,
                    f"state key {key!r} on {_show(target)}: {_EXEC_STATE_KEYS[key]}",
                )
            if key in _STATE_DUNDERS:
                self._add(
                    "DZ-PKL-007",
                    "Pickle BUILD sets a special attribute",
                    Severity.HIGH,
                    offset,
                    f"state key {key!r} on {_show(target)}",
                )
        if isinstance(target, Call) and _is_joblib_wrapper(target):
            return self._joblib_array(state, next_pos, offset)
        return 0

    def on_extension(self, code: int, offset: int) -> None:
        self._add(
            "DZ-PKL-008",
            "Pickle fetches an object from the copyreg extension registry",
            Severity.HIGH,
            offset,
            f"extension code {code}",
        )

    def on_bytes(self, value: bytes | BigBytes | str, offset: int) -> None:
        if isinstance(value, BigStr):
            return
        if isinstance(value, str):
            if looks_like_pickle(value[:_PROBE_WINDOW].encode("latin-1", "replace")):
                try:
                    raw = value.encode("latin-1")
                except UnicodeEncodeError:
                    raw = value.encode("utf-8", "surrogatepass")
                self.nested.append((raw, f"<text at {offset}>", "embedded-pickle"))
            return
        view: Buffer
        if isinstance(value, BigBytes):
            view = memoryview(self.data)[value.start : value.start + value.length]
        else:
            view = value
        head = bytes(view[:8])
        # Byte strings are mostly tensor or array data: only a protocol 2+ header counts.
        # An older nested pickle needs a loader call (pickle.loads), which is flagged.
        if len(head) > 1 and head[0] == 0x80 and 2 <= head[1] <= 5:
            self.nested.append((view, f"<bytes at {offset}>", "embedded-pickle"))
        elif _plausible_container(view, head):
            self.nested.append((view, f"<bytes at {offset}>", None))

    # -- joblib -------------------------------------------------------------------------

    def _joblib_array(self, state: Any, pos: int, offset: int) -> int:
        if not isinstance(state, SymDict):
            raise PickleError("joblib array wrapper without a state dict", offset)
        dtype = state.get("dtype")
        shape = state.get("shape")
        descr, itemsize = _dtype_info(dtype)
        if descr is not None and "O" in descr:
            sub = PickleAnalysis(self.blob, self.ctx, self.data, self.label)
            result = _machine(self.data, sub, self.ctx).run(pos)
            self.findings.extend(sub.findings)
            self.nested.extend(sub.nested)
            return result.end - pos
        if itemsize is None or not isinstance(shape, tuple):
            raise PickleError("joblib array wrapper with an unreadable dtype or shape", offset)
        if not all(isinstance(n, int) and n >= 0 for n in shape):
            raise PickleError("joblib array wrapper with a bad shape", offset)
        size = itemsize * math.prod(shape)
        if state.get("numpy_array_alignment_bytes") is not None:
            if pos >= len(self.data):
                raise PickleError("joblib array padding past the end", pos)
            size += 1 + self.data[pos]
        return size


def _plausible_container(view: Buffer, head: bytes) -> bool:
    """Bytes inside a pickle that start like an archive are scanned as one only if the
    archive's own checks pass; otherwise they are ordinary data (tensor bytes, say)."""
    import zlib

    if head.startswith(b"PK\x03\x04"):
        tail = bytes(view[-65557:])
        return tail.rfind(b"PK\x05\x06") >= 0
    if head.startswith(b"7z\xbc\xaf\x27\x1c") and len(view) >= 32:
        start = bytes(view[8:32])
        return zlib.crc32(start[4:]) == int.from_bytes(start[:4], "little")
    if head.startswith(b"\x1f\x8b\x08"):
        try:
            return bool(zlib.decompressobj(31).decompress(bytes(view[:4096]), 16))
        except zlib.error:
            return False
    return False


def _machine(data: Buffer, obs: PickleObserver, ctx: ScanContext) -> PickleMachine:
    return PickleMachine(
        data,
        obs,
        max_ops=ctx.limits.max_pickle_ops,
        max_items=ctx.limits.max_pickle_stack,
        check_time=ctx.check_time,
    )


def _is_joblib_wrapper(call: Call) -> bool:
    func = call.func
    if isinstance(func, Global) and func.full == "copyreg._reconstructor":
        args = call.args
        func = args[0] if isinstance(args, tuple) and args else None
    return isinstance(func, Global) and func.full in (
        "joblib.numpy_pickle.NumpyArrayWrapper",
        "sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
    )


_DESCR = re.compile(r"^[<>|=]?([?bBhHiIlLqQpPefdgFDGSUVOMmuicb])(\d*)")
_KIND_SIZE = {"?": 1, "b": 1, "B": 1, "h": 2, "H": 2, "e": 2, "f": 4, "d": 8, "g": 16,
              "F": 8, "D": 16, "G": 32, "l": 8, "L": 8, "q": 8, "Q": 8, "p": 8, "P": 8,
              "i": 4, "I": 4}


def _dtype_info(dtype: Any) -> tuple[str | None, int | None]:
    """(descr, itemsize) of a symbolic ``numpy.dtype(descr, ...)`` call, as joblib writes."""
    if not isinstance(dtype, Call) or not isinstance(dtype.func, Global):
        return None, None
    if dtype.func.full not in ("numpy.dtype", "numpy.core.multiarray.dtype"):
        return None, None
    args = dtype.args
    descr = args[0] if isinstance(args, tuple) and args and isinstance(args[0], str) else None
    state = dtype.state
    if isinstance(state, tuple) and len(state) >= 6:
        fields, itemsize = state[4], state[5]
        if isinstance(fields, SymDict) and any("O" in repr(v) for _, v in fields.pairs):
            return "O", None
        if isinstance(itemsize, int) and itemsize > 0:
            return descr, itemsize
    if descr is None:
        return None, None
    m = _DESCR.match(descr)
    if not m:
        return descr, None
    kind, digits = m.groups()
    if kind == "O":
        return descr, 8
    if digits:
        n = int(digits)
        return descr, n * 4 if kind == "U" else n
    return descr, _KIND_SIZE.get(kind)


def _globals_in(value: Any, depth: int = 0) -> Iterator[Global]:
    """Imports inside a call's arguments or a state (bounded walk)."""
    if depth > 6:
        return
    if isinstance(value, Global):
        yield value
    elif isinstance(value, tuple):
        for item in value[:64]:
            yield from _globals_in(item, depth + 1)
    elif isinstance(value, SymList):
        for item in value.items[:64]:
            yield from _globals_in(item, depth + 1)
    elif isinstance(value, SymDict):
        for k, v in value.pairs[:64]:
            yield from _globals_in(k, depth + 1)
            yield from _globals_in(v, depth + 1)


def _show_args(args: Any) -> str:
    if isinstance(args, tuple):
        return "(" + ", ".join(_show(a) for a in args[:4]) + ")"
    return f"(*{_show(args)})"


def _state_keys(state: Any) -> Iterator[Any]:
    parts = state if isinstance(state, tuple) and len(state) == 2 else (state,)
    for part in parts:
        if isinstance(part, SymDict):
            for key, _ in part.pairs:
                yield key


def _show(value: Any) -> str:
    if isinstance(value, Global):
        return value.full
    if isinstance(value, Call):
        return f"{_show(value.func)}(...)"
    if isinstance(value, Persistent):
        return "persistent object"
    if isinstance(value, Extension):
        return f"extension {value.code}"
    if isinstance(value, (SymList, SymDict)):
        return type(value).__name__[3:].lower()
    return printable(repr(value), 60)


def scan_pickle(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Scan every pickle in a stream; report what each would import and call."""
    yield from _scan_stream(blob, ctx, embedded=False)


def scan_embedded_pickle(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Like scan_pickle for bytes found inside another pickle: data that merely looks
    like a pickle and does not parse is ordinary data, not a finding."""
    yield from _scan_stream(blob, ctx, embedded=True)


def _scan_stream(blob: Blob, ctx: ScanContext, *, embedded: bool) -> Iterator[Finding]:
    data = _buffer(blob.data)
    pos = 0
    index = 0
    legacy_torch = False
    while pos < len(data):
        label = f"pickle {index + 1}"
        analysis = PickleAnalysis(blob, ctx, data, label)
        error: str | None = None
        end = pos
        value: Any = None
        try:
            result = _machine(data, analysis, ctx).run(pos)
            end, value = result.end, result.value
        except PickleError as exc:
            error, end = str(exc), exc.offset
        except LimitExceeded as exc:
            yield from analysis.findings
            yield finding(
                "DZ-PKL-010",
                "Pickle exceeds a scan limit; the rest was not analysed",
                Severity.MEDIUM,
                blob.location.at(offset=pos),
                evidence=str(exc),
                remediation="Do not load the file unless its source is trusted.",
                scanner=SCANNER,
            )
            return
        quiet = error is not None and not analysis.imports and (embedded or index > 0)
        if quiet:
            if index > 0 and not embedded:
                yield _trailing(blob, pos, len(data) - pos)
            return
        yield from analysis.findings
        for nested, member, kind in analysis.nested:
            yield from ctx.scan_nested(nested, blob, member, kind=kind, container="pickle")
        if error is not None:
            yield finding(
                "DZ-PKL-009",
                "Malformed or truncated pickle (analysed up to the fault)",
                Severity.MEDIUM,
                blob.location.at(offset=end),
                evidence=error,
                remediation="Do not load the file; get an intact copy from a trusted source.",
                scanner=SCANNER,
            )
            return
        index += 1
        if index == 1 and value == LEGACY_TORCH_MAGIC:
            legacy_torch = True
            if "legacy-torch" not in ctx.formats:
                ctx.formats.append("legacy-torch")
        if legacy_torch and index >= 5:
            return  # the rest is raw tensor storage, which torch never unpickles
        pos = end
        if pos < len(data) and not looks_like_pickle(data, pos):
            if not embedded:
                yield _trailing(blob, pos, len(data) - pos)
            return


def _trailing(blob: Blob, pos: int, size: int) -> Finding:
    return finding(
        "DZ-PKL-012",
        "Data after the last pickle",
        Severity.INFO,
        blob.location.at(offset=pos),
        evidence=f"{size} bytes that are not a pickle",
        remediation="Usually harmless; a loader that reads past the pickle may use it.",
        scanner=SCANNER,
    )


_ELEMENT_SIZE = {"Double": 8, "Float": 4, "Half": 2, "BFloat16": 2, "Long": 8, "Int": 4,
                 "Short": 2, "Char": 1, "Byte": 1, "Bool": 1, "ComplexFloat": 8,
                 "ComplexDouble": 16, "QInt8": 1, "QUInt8": 1, "QInt32": 4}


def scan_legacy_torch_records(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """The ``storages`` and ``tensors`` members of a legacy torch tar: a count pickle,
    then per record a pickle followed by raw bytes whose size the record gives, then (for
    storages) one more pickle. torch unpickles every one of them, so we read them all."""
    data = _buffer(blob.data)
    pos = 0
    is_storages = blob.name.rsplit("/", 1)[-1] == "storages"

    def one() -> Any:
        nonlocal pos
        analysis = PickleAnalysis(blob, ctx, data, "record")
        try:
            result = _machine(data, analysis, ctx).run(pos)
        finally:
            findings.extend(analysis.findings)
            nested.extend(analysis.nested)
        pos = result.end
        return result.value

    findings: list[Finding] = []
    nested: list[tuple[Buffer, str, str | None]] = []
    problem = ""
    try:
        count = one()
        if not isinstance(count, int) or not 0 <= count <= ctx.limits.max_members:
            raise PickleError(f"record count {count!r} is not a small integer", pos)
        for _ in range(count):
            ctx.check_time()
            record = one()
            if is_storages:
                kind = record[2] if isinstance(record, tuple) and len(record) == 3 else None
                name = kind.name if isinstance(kind, Global) else ""
                size = _ELEMENT_SIZE.get(name.removesuffix("Storage"))
                if size is None or pos + 8 > len(data):
                    raise PickleError(f"storage record of unknown type {name!r}", pos)
                numel = int.from_bytes(bytes(data[pos : pos + 8]), "little", signed=True)
                pos += 8 + numel * size
            else:
                ndim = int.from_bytes(bytes(data[pos : pos + 4]), "little", signed=True)
                if not 0 <= ndim <= 64:
                    raise PickleError(f"tensor record with {ndim} dimensions", pos)
                pos += 8 + 16 * ndim + 8
            if pos > len(data):
                raise PickleError("record data runs past the end", pos)
        if is_storages:
            one()  # storage views
    except (PickleError, IndexError) as exc:
        problem = str(exc)
    except LimitExceeded as exc:
        problem = f"limit reached: {exc}"
    yield from findings
    for content, member, kind_ in nested:
        yield from ctx.scan_nested(content, blob, member, kind=kind_, container="pickle")
    if problem:
        yield finding(
            "DZ-PKL-009",
            "Malformed legacy torch record stream (analysed up to the fault)",
            Severity.MEDIUM,
            blob.location.at(offset=pos),
            evidence=problem,
            remediation="Do not load the file; get an intact copy from a trusted source.",
            scanner=SCANNER,
        )
