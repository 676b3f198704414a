"""ONNX models: tensors read from arbitrary files, and operators that need native code.

An ONNX file cannot carry Python code, but loading one can still reach outside the file:

* A tensor may keep its bytes in an external file (``data_location = EXTERNAL``) named by
  the ``location`` key of ``external_data``. ``onnx.load`` and onnxruntime join that name
  to the model's folder, so an absolute path, a ``..`` segment, a drive letter or a URL
  reads (or maps) a file the author chose: ``/etc/passwd`` or ``/proc/self/environ`` ends
  up in a tensor that the model's outputs can leak (CVE-2022-25882, CVE-2024-27318).
* A node in a custom operator domain only runs when the loader registers a native
  library for it (``SessionOptions.register_custom_ops_library``): the model is asking
  for code to be loaded. Domains that onnxruntime ships (``com.microsoft``) are reported
  as information only, and domains defined by the model's own ``functions`` are plain
  ONNX and not reported.

The file is parsed with `dozor.scan.models._protobuf` over the raw bytes, not with the
``onnx`` package: that package is heavy, builds Python objects for every tensor (a 2 GiB
model costs 2 GiB more), and we need only a few fields. Walking the wire format ourselves
is faster, keeps memory flat with zero-copy slices, and lets us bound every count and
every level of nesting (subgraphs of ``If``/``Loop``/``Scan``, model-local functions,
training graphs) ourselves.
"""

from __future__ import annotations

import os
import re
from collections.abc import Collection, Iterator
from dataclasses import dataclass, field

from dozor.findings import Finding, Location, Severity
from dozor.scan.base import (
    Blob,
    Buffer,
    LimitExceeded,
    ScanContext,
    ScanTimeout,
    finding,
    printable,
)
from dozor.scan.models._protobuf import (
    I32,
    I64,
    LEN,
    VARINT,
    Budget,
    ProtobufError,
    ProtobufLimit,
    is_utf8,
    iter_fields,
    iter_prefix,
    text,
    view,
)

SCANNER = "onnx"

STANDARD_DOMAINS = frozenset(
    {"", "ai.onnx", "ai.onnx.ml", "ai.onnx.training", "ai.onnx.preview.training"}
)
"""Operator domains defined by the ONNX standard itself."""
RUNTIME_DOMAINS = frozenset(
    {"com.microsoft", "com.microsoft.nchwc", "com.microsoft.experimental", "com.ms.internal.nhwc"}
)
"""Domains whose operators are compiled into onnxruntime: common in exported models."""

MAX_NODES = 5_000_000
MAX_TENSORS = 5_000_000
MAX_GRAPH_DEPTH = 32
"""Subgraphs inside subgraphs (If/Loop/Scan bodies); real models nest a few levels."""
MAX_DOMAINS = 1024
MAX_OP_KINDS = 65_536
"""Distinct (domain, op type) pairs remembered; past that only the domain is kept."""
MAX_LOCATIONS = 4096
MAX_IR_VERSION = 64

_EXTERNAL = 1  # TensorProto.DataLocation.EXTERNAL
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]*:")
_DRIVE = re.compile(r"^[A-Za-z]:")
_DEVICE_PREFIXES = ("/dev/", "/proc/", "/sys/", "//./", "//?/")


def location_problem(location: str, base_dir: str | None) -> str | None:
    """Why an external-data location may read outside the model's folder, or None.

    `base_dir` is the folder of the model on disk; when given, symbolic links are
    resolved too, so ``weights.bin -> /etc/shadow`` beside the model is caught.
    """
    if "\x00" in location:
        return "NUL byte in location"
    slashed = location.replace("\\", "/")
    if slashed.startswith(_DEVICE_PREFIXES) or slashed in ("/dev", "/proc", "/sys"):
        return "device or kernel file"
    if slashed.startswith("/"):
        return "absolute path"
    if _DRIVE.match(location):
        return "Windows drive letter"
    if _SCHEME.match(location):
        return "URL scheme"
    if ".." in slashed.split("/"):
        return "parent-directory (..) segment"
    if base_dir is not None:
        root = os.path.realpath(base_dir)
        target = os.path.realpath(os.path.join(root, slashed))
        try:
            inside = os.path.commonpath([root, target]) == root
        except ValueError:  # different drives on Windows
            inside = False
        if not inside:
            return "resolves outside the model's folder (symbolic link)"
    return None


# --------------------------------------------------------------------------- sniffing

_MODEL_WIRE = {1: VARINT, 2: LEN, 3: LEN, 4: LEN, 5: VARINT, 6: LEN, 7: LEN, 8: LEN}
_MODEL_WIRE.update({14: LEN, 20: LEN, 25: LEN, 26: LEN})
_GRAPH_WIRE = {n: LEN for n in (1, 2, 5, 10, 11, 12, 13, 14, 15, 16)}
_NODE_WIRE: dict[int, tuple[int, ...]] = {n: (LEN,) for n in range(1, 11)}
_NODE_STRINGS = frozenset({1, 2, 3, 4, 6, 7, 8})
_TENSOR_WIRE: dict[int, tuple[int, ...]] = {
    1: (VARINT, LEN),
    2: (VARINT,),
    3: (LEN,),
    4: (LEN, I32),
    5: (LEN, VARINT),
    6: (LEN,),
    7: (LEN, VARINT),
    8: (LEN,),
    9: (LEN,),
    10: (LEN, I64),
    11: (LEN, VARINT),
    12: (LEN,),
    13: (LEN,),
    14: (VARINT,),
    16: (LEN,),
}


def looks_like_onnx(data: Buffer) -> bool:
    """Cheap structural check that `data` starts like an ONNX ModelProto.

    Needs ``ir_version`` (field 1, a small varint) first, only ModelProto fields with the
    right wire types after it, and a graph (field 7) whose first fields are well-formed
    nodes or tensors. Only a prefix is read: the graph may run past the end of `data`.
    """
    try:
        return _sniff_model(view(data))
    except (ProtobufError, TypeError):
        return False


def _sniff_model(mv: memoryview) -> bool:
    if len(mv) < 4 or mv[0] != 0x08:
        return False
    first = True
    for number, wire, value, complete in iter_prefix(mv, max_fields=64):
        if first:
            if number != 1 or not isinstance(value, int) or not 1 <= value <= MAX_IR_VERSION:
                return False
            first = False
            continue
        if _MODEL_WIRE.get(number) != wire:
            return False
        if isinstance(value, int):
            continue
        if number in (2, 3, 4, 6) and not is_utf8(value, cut=not complete):
            return False
        if number == 8 and not _sniff_fields(value, {1: (LEN,), 2: (VARINT,)}, {1}):
            return False
        if number == 7:
            return _sniff_graph(value)
        if not complete:
            return False
    return False


def _sniff_graph(mv: memoryview) -> bool:
    seen = 0
    for number, wire, value, complete in iter_prefix(mv, max_fields=16):
        if _GRAPH_WIRE.get(number) != wire or isinstance(value, int):
            return False
        if number == 1:
            ok = _sniff_fields(value, _NODE_WIRE, _NODE_STRINGS)
        elif number == 5:
            ok = _sniff_fields(value, _TENSOR_WIRE, {8, 12})
        elif number in (2, 10):
            ok = is_utf8(value, cut=not complete)
        else:
            ok = True
        if not ok:
            return False
        seen += 1
    return seen > 0


def _sniff_fields(
    mv: memoryview, wires: dict[int, tuple[int, ...]], strings: Collection[int]
) -> bool:
    for number, wire, value, complete in iter_prefix(mv, max_fields=8):
        if wire not in wires.get(number, ()):
            return False
        if (
            number in strings
            and isinstance(value, memoryview)
            and not is_utf8(value, cut=not complete)
        ):
            return False
    return True


# --------------------------------------------------------------------------- the model


@dataclass
class _ExternalRef:
    problem: str | None
    tensors: list[str] = field(default_factory=list)
    count: int = 0


@dataclass
class _DomainUse:
    ops: set[str] = field(default_factory=set)
    """Op types used from this domain that are not model-local functions."""
    opset_versions: set[int] = field(default_factory=set)


class OnnxModel:
    """What the scan needs from one ModelProto: operator domains and external tensors."""

    def __init__(self, ctx: ScanContext, base_dir: str | None) -> None:
        self.ctx = ctx
        self.base_dir = base_dir
        self.budget = Budget(max_depth=3 * MAX_GRAPH_DEPTH + 16)
        self.nodes = 0
        self.tensors = 0
        self.has_graph = False
        self.uses: dict[str, _DomainUse] = {}
        self.node_ops: set[tuple[str, str]] = set()
        self.overflow: set[str] = set()
        self.functions: set[tuple[str, str]] = set()
        self.external: dict[str, _ExternalRef] = {}
        self.empty_locations = 0

    # ModelProto
    def parse(self, data: Buffer) -> None:
        for number, _, value in self._fields(data, 0):
            if not isinstance(value, memoryview):
                continue
            if number == 7:
                self.has_graph = True
                self._graph(value, 1, 0)
            elif number == 8:
                self._opset(value, 1)
            elif number == 20:  # TrainingInfoProto: initialization=1, algorithm=2
                for sub, _, graph in self._fields(value, 1):
                    if sub in (1, 2) and isinstance(graph, memoryview):
                        self._graph(graph, 2, 0)
            elif number == 25:
                self._function(value, 1)

    def _fields(self, data: Buffer, depth: int) -> Iterator[tuple[int, int, int | memoryview]]:
        return iter_fields(data, depth=depth, budget=self.budget)

    def _opset(self, data: memoryview, depth: int) -> None:
        domain, version = "", 0
        for number, _, value in self._fields(data, depth):
            if number == 1 and isinstance(value, memoryview):
                domain = text(value)
            elif number == 2 and isinstance(value, int):
                version = value
        use = self._use(domain)
        if use is not None and len(use.opset_versions) < 16:
            use.opset_versions.add(version)

    def _use(self, domain: str) -> _DomainUse | None:
        use = self.uses.get(domain)
        if use is None and len(self.uses) < MAX_DOMAINS:
            use = self.uses[domain] = _DomainUse()
        return use

    def _graph(self, data: memoryview, depth: int, nesting: int) -> None:
        if nesting > MAX_GRAPH_DEPTH:
            raise ProtobufLimit(f"subgraphs nested deeper than {MAX_GRAPH_DEPTH}")
        for number, _, value in self._fields(data, depth):
            if not isinstance(value, memoryview):
                continue
            if number == 1:
                self._node(value, depth + 1, nesting)
            elif number == 5:
                self._tensor(value, depth + 1, "initializer")
            elif number == 15:
                self._sparse(value, depth + 1, "sparse initializer")

    def _function(self, data: memoryview, depth: int) -> None:
        name, domain = "", ""
        for number, _, value in self._fields(data, depth):
            if not isinstance(value, memoryview):
                continue
            if number == 1:
                name = text(value)
            elif number == 10:
                domain = text(value)
            elif number == 7:
                self._node(value, depth + 1, 1)
            elif number == 9:
                self._opset(value, depth + 1)
            elif number == 11:
                self._attribute(value, depth + 1, 1)
        self.functions.add((domain, name))

    def _node(self, data: memoryview, depth: int, nesting: int) -> None:
        self.ctx.check_time()
        self.nodes += 1
        if self.nodes > MAX_NODES:
            raise ProtobufLimit(f"more than {MAX_NODES} nodes")
        op_type, domain = "", ""
        for number, _, value in self._fields(data, depth):
            if not isinstance(value, memoryview):
                continue
            if number == 4:
                op_type = text(value, 256)
            elif number == 7:
                domain = text(value, 256)
            elif number == 5:
                self._attribute(value, depth + 1, nesting)
        if domain in STANDARD_DOMAINS:
            return
        if len(self.node_ops) < MAX_OP_KINDS:
            self.node_ops.add((domain, op_type))
        elif (domain, op_type) not in self.node_ops and len(self.overflow) < MAX_DOMAINS:
            self.overflow.add(domain)

    def _attribute(self, data: memoryview, depth: int, nesting: int) -> None:
        for number, _, value in self._fields(data, depth):
            if not isinstance(value, memoryview):
                continue
            if number in (5, 10):  # t, tensors
                self._tensor(value, depth + 1, "node attribute")
            elif number in (6, 11):  # g, graphs
                self._graph(value, depth + 1, nesting + 1)
            elif number in (22, 23):  # sparse_tensor, sparse_tensors
                self._sparse(value, depth + 1, "node attribute")

    def _sparse(self, data: memoryview, depth: int, where: str) -> None:
        for number, _, value in self._fields(data, depth):
            if number in (1, 2) and isinstance(value, memoryview):  # values, indices
                self._tensor(value, depth + 1, where)

    def _tensor(self, data: memoryview, depth: int, where: str) -> None:
        self.ctx.check_time()
        self.tensors += 1
        if self.tensors > MAX_TENSORS:
            raise ProtobufLimit(f"more than {MAX_TENSORS} tensors")
        name = ""
        external = False
        locations: list[str] = []
        for number, _, value in self._fields(data, depth):
            if number == 8 and isinstance(value, memoryview):
                name = text(value, 1024)
            elif number == 14 and isinstance(value, int):
                external = value == _EXTERNAL
            elif number == 13 and isinstance(value, memoryview):
                key, val = "", ""
                for sub, _, item in self._fields(value, depth + 1):
                    if sub == 1 and isinstance(item, memoryview):
                        key = text(item, 1024)
                    elif sub == 2 and isinstance(item, memoryview):
                        val = text(item, 4096)
                if key == "location":
                    locations.append(val)
        if external and not locations:
            self.empty_locations += 1
        # An unsafe location is reported even without EXTERNAL: a repeated TensorProto
        # field is merged by protobuf, so the flag may sit in another occurrence.
        for location in locations:
            if not location:
                if external:
                    self.empty_locations += 1
                continue
            self._note_location(location, f"{where} {name}".strip(), external)

    def _note_location(self, location: str, tensor: str, external: bool) -> None:
        ref = self.external.get(location)
        if ref is None:
            if len(self.external) >= MAX_LOCATIONS:
                return
            ref = self.external[location] = _ExternalRef(location_problem(location, self.base_dir))
        if not external and ref.problem is None:
            return
        ref.count += 1
        if len(ref.tensors) < 3:
            ref.tensors.append(tensor)

    # Results
    def custom_domains(self) -> dict[str, _DomainUse]:
        """Domains outside the ONNX standard, with node op types resolved against functions."""
        for domain, op_type in self.node_ops:
            use = self._use(domain)
            if use is not None and (domain, op_type) not in self.functions:
                use.ops.add(op_type)
        for domain in self.overflow:  # too many op types to check against the functions
            use = self._use(domain)
            if use is not None:
                use.ops.add("...")
        self.node_ops.clear()
        local_domains = {domain for domain, _ in self.functions}
        out = {}
        for domain, use in self.uses.items():
            if domain in STANDARD_DOMAINS:
                continue
            if not use.ops and domain in local_domains:
                continue  # declared and used only for the model's own functions
            out[domain] = use
        return out


def _base_dir(location: Location) -> str | None:
    """The model's folder on disk, when the blob is a file there (not an archive member)."""
    if location.members or "://" in location.path:
        return None
    return os.path.dirname(os.path.abspath(location.path))


def scan_onnx(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Report unsafe external-data paths, custom operator domains and malformed structure."""
    model = OnnxModel(ctx, _base_dir(blob.location))
    malformed: str | None = None
    stopped: BaseException | None = None
    try:
        model.parse(blob.data)
        if not model.has_graph:
            malformed = "the model has no graph (ModelProto field 7)"
    except ProtobufLimit as exc:
        stopped = LimitExceeded(f"ONNX model: {exc}")
    except ProtobufError as exc:
        malformed = str(exc)
    except (ScanTimeout, LimitExceeded) as exc:
        stopped = exc
    yield from _findings(model, blob.location)
    if malformed is not None:
        yield finding(
            "DZ-ONNX-003",
            "Malformed or truncated ONNX model",
            Severity.MEDIUM,
            blob.location,
            evidence=printable(malformed),
            remediation="Re-export or re-download the model; a file that does not parse "
            "cannot be checked and may be crafted to confuse loaders.",
            scanner=SCANNER,
        )
    if stopped is not None:
        raise stopped


def _findings(model: OnnxModel, where: Location) -> Iterator[Finding]:
    for location, ref in model.external.items():
        if ref.problem is None:
            continue
        yield finding(
            "DZ-ONNX-001",
            "External tensor data points outside the model's folder",
            Severity.HIGH,
            where,
            evidence=printable(location),
            remediation="Do not load this model: it would read the named file into a tensor. "
            "Keep external data files beside the model, named by relative paths.",
            scanner=SCANNER,
            details={
                "location": printable(location, 400),
                "reason": ref.problem,
                "tensors": printable(", ".join(ref.tensors)),
            },
        )
    if model.empty_locations:
        yield finding(
            "DZ-ONNX-003",
            "Malformed ONNX model: external tensor without a location",
            Severity.MEDIUM,
            where,
            evidence=f"{model.empty_locations} external tensor(s) name no file",
            remediation="Re-export the model with onnx.save(..., save_as_external_data=True).",
            scanner=SCANNER,
        )
    files = sorted(loc for loc, ref in model.external.items() if ref.problem is None and ref.count)
    if files:
        shown = ", ".join(printable(f, 60) for f in files[:5])
        more = f" and {len(files) - 5} more" if len(files) > 5 else ""
        yield finding(
            "DZ-ONNX-004",
            "Model loads tensor data from files beside it",
            Severity.INFO,
            where,
            evidence=f"{sum(model.external[f].count for f in files)} external tensor(s) in "
            f"{len(files)} file(s): "
            f"{shown}{more}",
            remediation="Ship and scan those files with the model; the model is incomplete "
            "without them.",
            scanner=SCANNER,
        )
    for domain, use in sorted(model.custom_domains().items()):
        ops = ", ".join(printable(op, 60) for op in sorted(use.ops)[:20])
        if len(use.ops) > 20:
            ops += f" and {len(use.ops) - 20} more"
        if not ops:
            versions = ", ".join(str(v) for v in sorted(use.opset_versions))
            ops = f"declared in opset_import (version {versions}), no node uses it"
        evidence = f"domain {printable(domain or '(empty)', 80)}: {ops}"
        if domain in RUNTIME_DOMAINS:
            yield finding(
                "DZ-ONNX-005",
                "Model uses onnxruntime contrib operators",
                Severity.INFO,
                where,
                evidence=evidence,
                remediation="Nothing to do for onnxruntime; other runtimes may not load it.",
                scanner=SCANNER,
                details={"domain": printable(domain, 200)},
            )
        else:
            yield finding(
                "DZ-ONNX-002",
                "Model needs custom operators from a native library",
                Severity.MEDIUM,
                where,
                evidence=evidence,
                remediation="Load the model only with an operator library you trust and have "
                "reviewed; custom operators are native code run by the runtime.",
                scanner=SCANNER,
                details={"domain": printable(domain, 200)},
            )
