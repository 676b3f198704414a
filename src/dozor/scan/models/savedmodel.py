"""TensorFlow SavedModel (``saved_model.pb``) and Keras ``keras_metadata.pb``: risky ops.

A SavedModel is a graph of operations that TensorFlow runs when the model is called (and
some when it is loaded, as initialisers). No Python is stored, but some operations reach
outside the model: call back into the loading process's Python, read and write files,
list directories, or talk to the network. Those are what this scanner reports, from the
nodes of every MetaGraphDef's GraphDef and of every function in its function library.

Why these operations (DZ-TF-001 / DZ-TF-002)
--------------------------------------------
* Python callbacks, CRITICAL: ``PyFunc``, ``PyFuncStateless``, ``EagerPyFunc`` and any op
  whose name contains ``PyFunc``. They call a Python callable registered in the loading
  process under a token stored in the graph.
* Files and network, HIGH. TensorFlow's own ``saved_model_cli scan`` denylists
  ``ReadFile``, ``WriteFile`` and ``PrintV2``; modelscan flags ``ReadFile`` and
  ``WriteFile``. The TensorAbuse study (ZJU-SEC) showed more ops that read or write
  arbitrary paths or open connections: ``MatchingFiles`` (lists directories), file and
  record readers and datasets (``FixedLengthRecordDataset``, ``CSVDataset``,
  ``TFRecordDataset``, ``TextLineDataset``, ``LMDBDataset``, ``SqlDataset``,
  ``MatchingFilesDataset``, the TF1 ``*Reader`` ops), ``ImmutableConst`` (maps a file),
  dataset save/load/snapshot ops, ``DebugIdentity*`` and ``DebugNanCount`` /
  ``DebugNumericSummary`` (send tensors to ``file://`` or ``grpc://`` debug URLs),
  ``DistributedSave``, the tf.data service ops (``DataServiceDataset*``,
  ``RegisterDataset*``) and the RPC ops (``RpcClient``, ``RpcCall``, ``RpcServer*``,
  ``Rpc``, ``TryRpc``), plus ``LoadAndRemapMatrix``/``GenerateVocabRemapping`` (read
  checkpoints and vocabularies at a given path), summary file writers, and the legacy
  ``Save``/``SaveSlices`` ops, which write to an exact path.
* Flagged only with a risky argument: ``PrintV2`` whose ``output_stream`` is not one of
  stdout/stderr/log (newer TensorFlow accepts ``file://``), ``DecodeProtoV2`` and
  ``EncodeProto`` whose ``descriptor_source`` names a file, and ``SaveV2`` whose prefix is
  a constant absolute or ``..`` path.

Not flagged, on purpose: every real SavedModel has a saver graph with ``SaveV2``,
``RestoreV2``, ``MergeV2Checkpoints``, ``ShardedFilename``, ``StringJoin`` and
``StaticRegexFullMatch``, fed by a filename placeholder, and text models initialise
lookup tables from vocabulary assets with ``InitializeTableFromTextFileV2`` (TF1 graphs
even keep the exporter's absolute asset path in a constant, remapped on load). Flagging
those would fail every benign model. Custom ops that are not in TensorFlow cannot be
listed exhaustively; only namespaced ones (``Addons>...``), which always come from a
separately loaded native library, are reported (DZ-TF-003).

``keras_metadata.pb`` (Keras 2 SavedModel) holds each layer's JSON config; a ``Lambda``
layer there carries marshalled Python bytecode that Keras rebuilds and runs on load
(DZ-TF-005).

Both files are read with `dozor.scan.models._protobuf`, not with ``tensorflow``: that
package is huge, slow to import, and loading a graph with it is exactly what we must not
do. Parsing the wire format ourselves is faster, safer, and bounded.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

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
from dozor.scan.models.onnx import location_problem

SCANNER = "tf-savedmodel"

PYTHON_OPS = frozenset({"PyFunc", "PyFuncStateless", "EagerPyFunc"})
"""Ops that call back into Python; any op containing "PyFunc" counts too."""

_READ = "reads files"
_WRITE = "writes files"
_LIST = "lists files"
_NET = "opens network connections"
_DEBUG = "sends tensors to debug URLs (file:// or grpc://)"
FILE_NETWORK_OPS: dict[str, str] = {
    "ReadFile": _READ,
    "WriteFile": _WRITE,
    "MatchingFiles": _LIST,
    "MatchingFilesDataset": _LIST,
    "ExperimentalMatchingFilesDataset": _LIST,
    "ImmutableConst": "memory-maps a file",
    "FixedLengthRecordDataset": _READ,
    "FixedLengthRecordDatasetV2": _READ,
    "TFRecordDataset": _READ,
    "TFRecordDatasetV2": _READ,
    "TextLineDataset": _READ,
    "CSVDataset": _READ,
    "CSVDatasetV2": _READ,
    "ExperimentalCSVDataset": _READ,
    "LMDBDataset": _READ,
    "ExperimentalLMDBDataset": _READ,
    "SqlDataset": _READ,
    "ExperimentalSqlDataset": _READ,
    "LoadDataset": _READ,
    "SaveDataset": _WRITE,
    "SaveDatasetV2": _WRITE,
    "SnapshotDataset": _WRITE,
    "SnapshotDatasetV2": _WRITE,
    "DistributedSave": _WRITE,
    "WholeFileReader": _READ,
    "WholeFileReaderV2": _READ,
    "TextLineReader": _READ,
    "TextLineReaderV2": _READ,
    "FixedLengthRecordReader": _READ,
    "FixedLengthRecordReaderV2": _READ,
    "TFRecordReader": _READ,
    "TFRecordReaderV2": _READ,
    "LMDBReader": _READ,
    "LoadAndRemapMatrix": _READ,
    "GenerateVocabRemapping": _READ,
    "Save": _WRITE,
    "SaveSlices": _WRITE,
    "CreateSummaryFileWriter": _WRITE,
    "CreateSummaryDbWriter": _WRITE,
    "DebugIdentity": _DEBUG,
    "DebugIdentityV2": _DEBUG,
    "DebugIdentityV3": _DEBUG,
    "DebugNanCount": _DEBUG,
    "DebugNumericSummary": _DEBUG,
    "DataServiceDataset": _NET,
    "DataServiceDatasetV2": _NET,
    "DataServiceDatasetV3": _NET,
    "DataServiceDatasetV4": _NET,
    "RegisterDataset": _NET,
    "RegisterDatasetV2": _NET,
    "RpcClient": _NET,
    "RpcCall": _NET,
    "RpcServer": _NET,
    "RpcServerStart": _NET,
    "RpcServerRegister": _NET,
    "Rpc": _NET,
    "TryRpc": _NET,
}
"""Ops that reach files or the network whatever their arguments, with what they do."""

PRINT_STREAMS = frozenset({"stdout", "stderr", "log(info)", "log(warning)", "log(error)"})
_ATTR_OPS = frozenset({"PrintV2", "DecodeProtoV2", "EncodeProto", "PyFunc", "EagerPyFunc"})
_CONST_PATH_OPS = frozenset({"SaveV2", "ReadFile", "WriteFile", "MatchingFiles", "Save"})

MAX_NODES = 5_000_000
MAX_META_GRAPHS = 1024
MAX_FUNCTIONS = 1_000_000
MAX_SHOWN = 3
MAX_JSON_BYTES = 256 << 20


# --------------------------------------------------------------------------- sniffing

_META_INFO_WIRE = {1: LEN, 2: LEN, 3: LEN, 4: LEN, 5: LEN, 6: LEN, 7: VARINT, 8: LEN}
_GRAPH_WIRE = {1: LEN, 2: LEN, 3: VARINT, 4: LEN, 5: LEN}
_NODE_WIRE = {n: LEN for n in range(1, 8)}


def looks_like_savedmodel(data: Buffer) -> bool:
    """Cheap structural check that `data` starts like a SavedModel proto.

    Needs ``saved_model_schema_version`` (field 1, a small varint) first, then only
    MetaGraphDef messages (field 2) whose fields are MetaGraphDef fields, with a GraphDef
    (field 2) in each one that is complete. Never true for ONNX: a ModelProto needs a
    graph at field 7 and a string (not a message) at field 2.
    """
    try:
        return _sniff_saved_model(view(data))
    except (ProtobufError, TypeError):
        return False


def _sniff_saved_model(mv: memoryview) -> bool:
    if len(mv) < 4 or mv[0] != 0x08:
        return False
    first = True
    graphs = 0
    for number, wire, value, complete in iter_prefix(mv, max_fields=MAX_META_GRAPHS + 1):
        if first:
            if number != 1 or not isinstance(value, int) or value > 16:
                return False
            first = False
            continue
        if number != 2 or wire != LEN or isinstance(value, int):
            return False
        if not _sniff_meta_graph(value, complete):
            return False
        graphs += 1
    return graphs > 0


def _sniff_meta_graph(mv: memoryview, complete: bool) -> bool:
    has_graph = checked = False
    for number, wire, value, _ in iter_prefix(mv, max_fields=4096):
        if not 1 <= number <= 9 or wire != LEN or isinstance(value, int):
            return False
        if number == 1:
            if not _sniff_message(value, _META_INFO_WIRE, {1, 4, 5, 6}):
                return False
            checked = True
        elif number == 2:
            if not _sniff_graph(value):
                return False
            has_graph = checked = True
    return has_graph or (not complete and checked)


def _sniff_graph(mv: memoryview) -> bool:
    for number, wire, value, _ in iter_prefix(mv, max_fields=16):
        if _GRAPH_WIRE.get(number) != wire:
            return False
        if (
            number == 1
            and isinstance(value, memoryview)
            and not _sniff_message(value, _NODE_WIRE, {1, 2, 3, 4})
        ):
            return False
    return True


def _sniff_message(mv: memoryview, wires: dict[int, int], strings: set[int]) -> bool:
    for number, wire, value, complete in iter_prefix(mv, max_fields=8):
        if wires.get(number) != wire:
            return False
        if (
            number in strings
            and isinstance(value, memoryview)
            and not is_utf8(value, cut=not complete)
        ):
            return False
    return True


_SAVED_OBJECT_WIRE = {1: LEN, 2: VARINT, 3: LEN, 4: LEN, 5: LEN}


def looks_like_keras_metadata(data: Buffer) -> bool:
    """Cheap check for ``keras_metadata.pb``: SavedMetadata whose first node is a Keras object.

    Starts with field 1 (a SavedObject message, so the first byte is 0x0a) holding only
    SavedObject fields, and an ``identifier`` such as ``_tf_keras_layer``.
    """
    try:
        mv = view(data)
        if len(mv) < 4 or mv[0] != 0x0A:
            return False
        for number, wire, value, _ in iter_prefix(mv, max_fields=1):
            if number != 1 or wire != LEN or isinstance(value, int):
                return False
            for sub, sub_wire, item, _ in iter_prefix(value, max_fields=8):
                if _SAVED_OBJECT_WIRE.get(sub) != sub_wire:
                    return False
                if sub == 4 and isinstance(item, memoryview):
                    return bytes(item[:16]).startswith((b"_tf_keras", b"_keras"))
        return False
    except (ProtobufError, TypeError):
        return False


# --------------------------------------------------------------------------- the graphs


@dataclass
class _Hit:
    rule: str
    op: str
    what: str
    places: list[str] = field(default_factory=list)
    count: int = 0

    def add(self, place: str) -> None:
        self.count += 1
        if len(self.places) < MAX_SHOWN:
            self.places.append(place)


@dataclass
class _Pending:
    """A node whose verdict or evidence needs the string value of its first input."""

    op: str
    node: str
    source: str
    scope: str


def _input_node(name: str) -> str:
    """The node an input refers to: ``x:0``, ``^x`` and ``x:output:0`` all name ``x``."""
    return name.lstrip("^").split(":", 1)[0]


class SavedModelGraphs:
    """The risky operations found in every graph and function of one SavedModel."""

    def __init__(self, ctx: ScanContext, assets_dir: str | None) -> None:
        self.ctx = ctx
        self.assets_dir = assets_dir
        self.budget = Budget()
        self.nodes = 0
        self.functions = 0
        self.meta_graphs = 0
        self.hits: dict[tuple[str, str], _Hit] = {}
        self.assets: dict[str, str] = {}

    def parse(self, data: Buffer) -> None:
        for number, _, value in iter_fields(data, budget=self.budget):
            if number == 2 and isinstance(value, memoryview):
                self.meta_graphs += 1
                if self.meta_graphs > MAX_META_GRAPHS:
                    raise ProtobufLimit(f"more than {MAX_META_GRAPHS} meta graphs")
                self._meta_graph(value, f"meta graph {self.meta_graphs}")

    def _meta_graph(self, data: memoryview, label: str) -> None:
        tags: list[str] = []
        graphs: list[memoryview] = []
        for number, _, value in iter_fields(data, depth=1, budget=self.budget):
            if not isinstance(value, memoryview):
                continue
            if number == 1:
                for sub, _, item in iter_fields(value, depth=2, budget=self.budget):
                    if sub == 4 and isinstance(item, memoryview) and len(tags) < 8:
                        tags.append(text(item, 200))
            elif number == 2:
                graphs.append(value)
            elif number == 6:
                self._asset(value)
        if tags:
            label = f"meta graph [{','.join(tags)}]"
        for graph in graphs:
            self._graph(graph, label)

    def _asset(self, data: memoryview) -> None:
        for number, _, value in iter_fields(data, depth=2, budget=self.budget):
            if number == 2 and isinstance(value, memoryview):
                name = text(value, 4096)
                problem = location_problem(name, self.assets_dir) if name else None
                if problem and len(self.assets) < 1024:
                    self.assets[name] = problem

    def _graph(self, data: memoryview, label: str) -> None:
        """GraphDef (at depth 2): nodes = 1, library = 2 (FunctionDefLibrary)."""
        self._scope(data, 1, label, depth=2)
        for number, _, library in iter_fields(data, depth=2, budget=self.budget):
            if number != 2 or not isinstance(library, memoryview):
                continue
            for sub, _, function in iter_fields(library, depth=3, budget=self.budget):
                if sub == 1 and isinstance(function, memoryview):
                    self._function(function)

    def _function(self, data: memoryview) -> None:
        """FunctionDef (at depth 4): signature = 1 (OpDef, name = 1), node_def = 3."""
        self.functions += 1
        if self.functions > MAX_FUNCTIONS:
            raise ProtobufLimit(f"more than {MAX_FUNCTIONS} functions")
        name = ""
        for number, _, value in iter_fields(data, depth=4, budget=self.budget):
            if number == 1 and isinstance(value, memoryview):
                for sub, _, item in iter_fields(value, depth=5, budget=self.budget):
                    if sub == 1 and isinstance(item, memoryview):
                        name = text(item, 300)
                        break
        self._scope(data, 3, f"function {name}", depth=4)

    def _scope(self, data: memoryview, node_field: int, label: str, *, depth: int) -> None:
        """Check the nodes of one GraphDef (field 1) or FunctionDef (field 3) at `depth`."""
        pending: list[_Pending] = []
        for number, _, value in iter_fields(data, depth=depth, budget=self.budget):
            if number != node_field or not isinstance(value, memoryview):
                continue
            self.ctx.check_time()
            self.nodes += 1
            if self.nodes > MAX_NODES:
                raise ProtobufLimit(f"more than {MAX_NODES} nodes")
            self._node(value, label, depth + 1, pending)
        if pending:
            self._resolve(data, node_field, depth, pending)

    def _node(self, data: memoryview, label: str, depth: int, pending: list[_Pending]) -> None:
        name = op = ""
        first_input: str | None = None
        attrs: list[memoryview] = []
        for number, _, value in iter_fields(data, depth=depth, budget=self.budget):
            if not isinstance(value, memoryview):
                continue
            if number == 1:
                name = text(value, 300)
            elif number == 2:
                op = text(value, 300)
            elif number == 3 and first_input is None:
                first_input = text(value, 300)
            elif number == 5:
                attrs.append(value)
        place = f"{label}: node {name}"
        if "PyFunc" in op:
            token = self._attr_string(attrs, "token", depth)
            self._hit("DZ-TF-001", op, "calls back into Python", place, token)
        elif op in _CONST_PATH_OPS and first_input:
            # the verdict (SaveV2) or the evidence (ReadFile's path) needs the input's value
            pending.append(_Pending(op, name, _input_node(first_input), label))
        elif op in FILE_NETWORK_OPS:
            self._hit("DZ-TF-002", op, FILE_NETWORK_OPS[op], place)
        elif op == "PrintV2":
            stream = self._attr_string(attrs, "output_stream", depth)
            if stream is not None and stream not in PRINT_STREAMS:
                self._hit("DZ-TF-002", op, "prints to a file", place, stream)
        elif op in ("DecodeProtoV2", "EncodeProto"):
            source = self._attr_string(attrs, "descriptor_source", depth)
            if source and source != "local://" and not source.startswith("bytes://"):
                self._hit("DZ-TF-002", op, "reads a descriptor file", place, source)
        elif ">" in op:
            self._hit("DZ-TF-003", op, "custom op from a native library", place)

    def _attr_string(self, attrs: list[memoryview], key: str, depth: int) -> str | None:
        """The string value (AttrValue.s) of one attr of a node at `depth`, if it has one."""
        found: str | None = None
        for entry in attrs:
            name, value = "", None
            for number, _, item in iter_fields(entry, depth=depth + 1, budget=self.budget):
                if number == 1 and isinstance(item, memoryview):
                    name = text(item, 300)
                elif number == 2 and isinstance(item, memoryview):
                    value = item
            if name != key or value is None:
                continue
            for number, _, item in iter_fields(value, depth=depth + 2, budget=self.budget):
                if number == 2 and isinstance(item, memoryview):
                    found = text(item, 4096)
        return found

    def _resolve(
        self, data: memoryview, node_field: int, depth: int, pending: list[_Pending]
    ) -> None:
        """Find the constant strings that pending nodes read as their first input."""
        wanted = {p.source for p in pending}
        values: dict[str, str] = {}
        for number, _, value in iter_fields(data, depth=depth, budget=self.budget):
            if number != node_field or not isinstance(value, memoryview):
                continue
            self.ctx.check_time()
            name = op = ""
            attrs: list[memoryview] = []
            for sub, _, item in iter_fields(value, depth=depth + 1, budget=self.budget):
                if not isinstance(item, memoryview):
                    continue
                if sub == 1:
                    name = text(item, 300)
                elif sub == 2:
                    op = text(item, 300)
                elif sub == 5:
                    attrs.append(item)
            if op == "Const" and name in wanted:
                const = self._const_string(attrs, depth + 1)
                if const is not None:
                    values[name] = const
        for want in pending:
            path = values.get(want.source)
            place = f"{want.scope}: node {want.node}"
            if want.op in FILE_NETWORK_OPS:
                self._hit("DZ-TF-002", want.op, FILE_NETWORK_OPS[want.op], place, path)
            elif path is not None and location_problem(path, None):
                self._hit("DZ-TF-002", want.op, "writes to a fixed path", place, path)

    def _const_string(self, attrs: list[memoryview], depth: int) -> str | None:
        """The first string of a Const node's ``value`` tensor (TensorProto.string_val = 8)."""
        for entry in attrs:
            key, value = "", None
            for number, _, item in iter_fields(entry, depth=depth + 1, budget=self.budget):
                if number == 1 and isinstance(item, memoryview):
                    key = text(item, 300)
                elif number == 2 and isinstance(item, memoryview):
                    value = item
            if key != "value" or value is None:
                continue
            for number, _, tensor in iter_fields(value, depth=depth + 2, budget=self.budget):
                if number != 8 or not isinstance(tensor, memoryview):
                    continue
                for sub, _, item in iter_fields(tensor, depth=depth + 3, budget=self.budget):
                    if sub == 8 and isinstance(item, memoryview):
                        return text(item, 4096)
        return None

    def _hit(self, rule: str, op: str, what: str, place: str, arg: str | None = None) -> None:
        hit = self.hits.get((rule, op))
        if hit is None:
            hit = self.hits[(rule, op)] = _Hit(rule, op, what)
        hit.add(place if arg is None else f"{place} ({printable(arg, 80)})")


# --------------------------------------------------------------------------- handlers

_RULES = {
    "DZ-TF-001": (
        "TensorFlow graph calls Python code",
        Severity.CRITICAL,
        (
            "Do not load this model: the op runs a Python function of the loading process. "
            "Rebuild the model without tf.py_function / tf.numpy_function."
        ),
    ),
    "DZ-TF-002": (
        "TensorFlow graph reads or writes files or uses the network",
        Severity.HIGH,
        (
            "Do not serve this model until you know why the graph touches files or the "
            "network; models for inference need neither."
        ),
    ),
    "DZ-TF-003": (
        "TensorFlow graph needs a custom op from a native library",
        Severity.MEDIUM,
        "Load it only with an op library you trust (tf.load_op_library runs native code).",
    ),
}


def scan_savedmodel(blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    """Report risky ops in a SavedModel, or Lambda bytecode in ``keras_metadata.pb``."""
    mv = view(blob.data)
    if len(mv) and mv[0] == 0x0A and looks_like_keras_metadata(mv):
        yield from _scan_keras_metadata(mv, blob, ctx)
        return
    graphs = SavedModelGraphs(ctx, _assets_dir(blob.location))
    malformed: str | None = None
    stopped: BaseException | None = None
    try:
        graphs.parse(mv)
        if not graphs.meta_graphs:
            malformed = "no MetaGraphDef (SavedModel field 2)"
    except ProtobufLimit as exc:
        stopped = LimitExceeded(f"SavedModel: {exc}")
    except ProtobufError as exc:
        malformed = str(exc)
    except (ScanTimeout, LimitExceeded) as exc:
        stopped = exc
    del mv
    for (rule, op), hit in sorted(graphs.hits.items()):
        title, severity, remediation = _RULES[rule]
        more = f" and {hit.count - len(hit.places)} more" if hit.count > len(hit.places) else ""
        yield finding(
            rule,
            title,
            severity,
            blob.location,
            evidence=printable(f"{op} ({hit.what}) at {'; '.join(hit.places)}{more}", 400),
            remediation=remediation,
            scanner=SCANNER,
            details={"op": printable(op, 200), "nodes": str(hit.count)},
        )
    for name, problem in sorted(graphs.assets.items()):
        yield finding(
            "DZ-TF-007",
            "SavedModel asset path points outside the model's folder",
            Severity.HIGH,
            blob.location,
            evidence=printable(name),
            remediation="Do not load this model: TensorFlow would read the named file as an "
            "asset. Assets must be plain file names inside assets/.",
            scanner=SCANNER,
            details={"asset": printable(name, 400), "reason": problem},
        )
    if malformed is not None:
        yield _malformed(blob.location, malformed)
    if stopped is not None:
        raise stopped


def _assets_dir(location: Location) -> str | None:
    if location.members or "://" in location.path:
        return None
    return os.path.join(os.path.dirname(os.path.abspath(location.path)), "assets")


def _malformed(where: Location, why: str) -> Finding:
    return finding(
        "DZ-TF-004",
        "Malformed or truncated TensorFlow protobuf",
        Severity.MEDIUM,
        where,
        evidence=printable(why),
        remediation="Re-export or re-download the model; a file that does not parse cannot "
        "be checked and may be crafted to confuse loaders.",
        scanner=SCANNER,
    )


def _scan_keras_metadata(mv: memoryview, blob: Blob, ctx: ScanContext) -> Iterator[Finding]:
    budget = Budget()
    seen: set[tuple[str, str]] = set()
    try:
        for number, _, node in iter_fields(mv, budget=budget):
            if number != 1 or not isinstance(node, memoryview):
                continue
            ctx.check_time()
            for sub, _, item in iter_fields(node, depth=1, budget=budget):
                if sub != 5 or not isinstance(item, memoryview):
                    continue
                if len(item) > MAX_JSON_BYTES:
                    raise LimitExceeded(
                        f"Keras metadata JSON larger than {MAX_JSON_BYTES >> 20} MiB"
                    )
                try:
                    config = json.loads(bytes(item))
                except (ValueError, RecursionError) as exc:
                    yield _malformed(blob.location, f"layer metadata is not JSON: {exc}")
                    continue
                for lambda_ in _lambdas(config, ctx):
                    if lambda_ not in seen:
                        seen.add(lambda_)
                        yield _lambda_finding(blob.location, *lambda_)
    except ProtobufLimit as exc:
        raise LimitExceeded(f"Keras metadata: {exc}") from None
    except ProtobufError as exc:
        yield _malformed(blob.location, str(exc))


def _lambdas(config: Any, ctx: ScanContext) -> Iterator[tuple[str, str]]:
    """(kind, evidence) for each Lambda layer in a Keras JSON config, walked without recursion."""
    stack: list[Any] = [config]
    visited = 0
    while stack:
        item = stack.pop()
        visited += 1
        if visited % 10_000 == 0:
            ctx.check_time()
        if isinstance(item, list):
            stack.extend(item)
            continue
        if not isinstance(item, dict):
            continue
        stack.extend(item.values())
        cls = item.get("class_name")
        conf = item.get("config")
        if cls == "__lambda__" and isinstance(conf, dict):
            yield "bytecode", f"serialized lambda ({_code_prefix(conf.get('code'))})"
        if cls != "Lambda" or not isinstance(conf, dict):
            continue
        name = str(conf.get("name", ""))
        module = str(conf.get("module", ""))
        for key in ("function", "output_shape"):
            kind = conf.get(f"{key}_type")
            if kind == "lambda":
                code = _code_prefix(conf.get(key))
                yield "bytecode", f"Lambda layer {name}: {key} is bytecode ({code})"
            elif kind == "function" and key == "function":
                yield "named", f"Lambda layer {name}: {module}.{conf.get(key)}"


def _code_prefix(value: Any) -> str:
    while isinstance(value, (list, tuple)) and value:
        value = value[0]
    return f"{str(value)[:24]}..." if value else "no code"


def _lambda_finding(where: Location, kind: str, evidence: str) -> Finding:
    if kind == "bytecode":
        return finding(
            "DZ-TF-005",
            "Keras Lambda layer with Python bytecode",
            Severity.HIGH,
            where,
            evidence=printable(evidence, 300),
            remediation="Do not load this model with Keras (safe_mode does not cover legacy "
            "SavedModels): the bytecode runs when the layer is rebuilt. Replace the Lambda "
            "with a registered custom layer.",
            scanner=SCANNER,
        )
    return finding(
        "DZ-TF-006",
        "Keras Lambda layer refers to a Python function by name",
        Severity.LOW,
        where,
        evidence=printable(evidence, 300),
        remediation="Loading needs that function from your own code; check that it is yours.",
        scanner=SCANNER,
    )
